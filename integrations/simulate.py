"""Runs one agency simulator as its own HTTP server (`cityservices simulate police|housing`).

Also runnable as `python -m integrations.simulate police --port 8101 --dataset FILE`.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from integrations.datasets import load_dataset
from integrations.faults import Faults
from integrations.housing import simulator as housing_simulator
from integrations.police import simulator as police_simulator

AGENCIES = ("police", "housing")
DEFAULT_PORTS = {"police": 8101, "housing": 8102}

log = logging.getLogger("integrations.simulate")


def build_app(
    agency: str,
    *,
    dataset: Path | None,
    latency_ms: float = 0,
    error_rate: float = 0.0,
    down: bool = False,
    seed: int | None = None,
) -> FastAPI:
    if agency not in AGENCIES:
        raise ValueError(f"unknown agency {agency!r}; expected one of {', '.join(AGENCIES)}")
    data = load_dataset(dataset)
    faults = Faults(latency_ms=latency_ms, error_rate=error_rate, down=down, seed=seed)
    module = police_simulator if agency == "police" else housing_simulator
    app = module.create_app(data, faults)
    log.info(
        "%s simulator: %d persons loaded from %s", agency, len(data.persons), dataset or "the demo dataset"
    )
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
) -> None:
    """Serve until interrupted. No access log: the URLs it would print carry id numbers."""
    app = build_app(
        agency, dataset=dataset, latency_ms=latency_ms, error_rate=error_rate, down=down, seed=seed
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="simulate", description="Run an agency simulator.")
    parser.add_argument("agency", choices=AGENCIES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default 8101 (police) or 8102 (housing)")
    parser.add_argument(
        "--dataset",
        type=Path,
        default=os.environ.get("SIMULATOR_DATASET") or None,
        help="dataset file (CONTRACT §9); default $SIMULATOR_DATASET, else the bundled demo",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--down", action="store_true")
    parser.add_argument("--seed", type=int, help="seed of the injected-error draw")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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
