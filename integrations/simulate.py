"""Runs one agency simulator as its own HTTP server (`cityservices simulate police|housing`).

Also runnable as `python -m integrations.simulate police --port 8101 --dataset FILE`.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import logging.config
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request, Response

from integrations.datasets import load_dataset
from integrations.faults import Faults
from integrations.housing import simulator as housing_simulator
from integrations.police import simulator as police_simulator
from integrations.simapp import problem_response

AGENCIES = ("police", "housing")
DEFAULT_PORTS = {"police": 8101, "housing": 8102}

log = logging.getLogger("integrations.simulate")


@dataclass(frozen=True)
class SimulatorSecurity:
    """What a simulator may demand of its callers, as the real agencies do: TLS with a client certificate
    issued by `client_ca` (mutual TLS), and/or `Authorization: Bearer <token>`. All unset: plain HTTP."""

    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    token: str | None = None

    def uvicorn_options(self) -> dict[str, object]:
        if self.tls_cert is None:
            return {}
        options: dict[str, object] = {
            "ssl_certfile": str(self.tls_cert),
            "ssl_keyfile": str(self.tls_key or self.tls_cert),
        }
        if self.client_ca is not None:
            options.update(ssl_ca_certs=str(self.client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
        return options


def require_bearer_token(app: FastAPI, token: str) -> None:
    """Every request must carry the agency's token; 401 otherwise (compared in constant time)."""
    expected = f"Bearer {token}".encode()

    @app.middleware("http")
    async def check_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        sent = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(sent, expected):
            return problem_response(401, "Unauthorized", "a valid bearer token is required")
        return await call_next(request)


JSON_LOG_CONFIG: dict[str, object] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
}
"""One JSON object per line, like the service's own logs (app.observability), so one pipeline reads both."""


def build_app(
    agency: str,
    *,
    dataset: Path | None,
    latency_ms: float = 0,
    error_rate: float = 0.0,
    down: bool = False,
    seed: int | None = None,
    token: str | None = None,
) -> FastAPI:
    if agency not in AGENCIES:
        raise ValueError(f"unknown agency {agency!r}; expected one of {', '.join(AGENCIES)}")
    data = load_dataset(dataset)
    faults = Faults(latency_ms=latency_ms, error_rate=error_rate, down=down, seed=seed)
    module = police_simulator if agency == "police" else housing_simulator
    app: FastAPI = module.create_app(data, faults)
    if token:
        require_bearer_token(app, token)
    log.info("%s simulator: %d persons loaded from %s", agency, len(data.persons), dataset or "the demo dataset")
    return app


def run(
    agency: str,
    *,
    host: str,
    port: int,
    dataset: Path | None,
    latency_ms: float = 0,
    error_rate: float = 0.0,
    down: bool = False,
    seed: int | None = None,
    security: SimulatorSecurity | None = None,
) -> None:
    """Serve until interrupted. No access log: the URLs it would print carry id numbers."""
    security = security or SimulatorSecurity()
    logging.config.dictConfig(JSON_LOG_CONFIG)
    app = build_app(
        agency,
        dataset=dataset,
        latency_ms=latency_ms,
        error_rate=error_rate,
        down=down,
        seed=seed,
        token=security.token,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="info",
        log_config=None,
        **security.uvicorn_options(),  # type: ignore[arg-type]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="simulate", description="Run an agency simulator.")
    parser.add_argument("agency", choices=AGENCIES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default 8101 (police) or 8102 (housing)")
    parser.add_argument(
        "--dataset",
        type=Path,
        default=os.environ.get("SIMULATOR_DATASET") or None,
        help="dataset file (docs/api.md#the-agencies); default $SIMULATOR_DATASET, else the bundled demo",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--down", action="store_true")
    parser.add_argument("--seed", type=int, help="seed of the injected-error draw")
    args = parser.parse_args(argv)
    run(
        args.agency,
        host=args.host,
        port=args.port or DEFAULT_PORTS[args.agency],
        dataset=args.dataset,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        down=args.down,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
