"""The `cityservices` command (README.md, "Commands")."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from app.config import load_settings
from app.migrating import migrate as _migrate
from app.migrating import migrate_or_explain as _migrate_or_explain

__all__ = ["OPENAPI_FILE", "_migrate", "build_parser", "main", "render_openapi"]


def cmd_serve(args: argparse.Namespace) -> int:
    from app.observability import share_metrics_between_processes

    metrics_dir = None
    if args.workers > 1:
        # Before prometheus_client is imported anywhere: each worker process then writes its samples to
        # files that every /metrics scrape adds up (multiprocess mode).
        metrics_dir = share_metrics_between_processes()

    import uvicorn

    from app.api import listening
    from app.api.serving import uvicorn_protocol_options
    from app.observability import configure_logging

    settings = load_settings()
    configure_logging()
    if not settings.is_production and "public_base_url" not in settings.model_fields_set:
        # The QR codes must point at this service: the port it serves on, not the default one. Through
        # the environment, so that every worker process (spawned, settings read anew) sees it.
        os.environ["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{args.port}"
    # uvicorn drains on SIGTERM and then raises the signal again so that the default action ends the
    # process (exit 143). A stop that drained is a clean stop: exit 0, as operators and orchestrators
    # expect. Before uvicorn takes the signal over (migrating), SIGTERM also stops with 0.
    signal.signal(signal.SIGTERM, _stopped_cleanly)
    try:
        if not settings.is_production:
            _migrate_or_explain(settings)
        if settings.metrics_port is not None:
            # Scrapes on their own port (the public one answers 404 for /metrics): in this process, which
            # with --workers adds up every worker's samples from the shared directory.
            from app.observability import serve_metrics

            serve_metrics(settings.metrics_host, settings.metrics_port)
        options: dict[str, Any] = dict(
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            server_header=False,
            date_header=True,
            access_log=False,
            log_config=None,
            proxy_headers=True,
            **uvicorn_protocol_options(),  # request headers must arrive in time (slowloris)
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
        if args.workers > 1 and listening.spreads_connections(args.port):
            listening.serve_on_own_sockets(uvicorn.Config("app.main:create_served_app", **options))
        else:
            uvicorn.run("app.main:create_served_app", **options)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _stopped_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_token(args: argparse.Namespace) -> int:
    from app.auth.dev_keys import DEV_STAFF_ID_NUMBER, mint_dev_token

    settings = load_settings()
    if settings.is_production or not settings.dev_auth:
        print(
            "cityservices: `token` mints development tokens only (no JWKS configured, not production)", file=sys.stderr
        )
        return 2
    print(
        mint_dev_token(
            settings.data_dir,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            roles=[args.role],
            sub=args.sub,
            # Staff are persons: a clerk's or auditor's token says whose (a fixed development person).
            id_number=args.id_number or (DEV_STAFF_ID_NUMBER if args.role != "citizen" else None),
            name=args.name,
            station_id=args.station,
            ttl_s=args.ttl,
        )
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from integrations.simulate import SimulatorSecurity, run

    port = args.port or {"police": 8101, "housing": 8102}[args.agency]
    dataset = args.dataset or load_settings().simulator_dataset
    if args.client_ca is not None and args.tls_cert is None:
        print("cityservices: --client-ca needs --tls-cert (mutual TLS is TLS first)", file=sys.stderr)
        return 2
    run(
        args.agency,
        host=args.host,
        port=port,
        dataset=dataset,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        down=args.down,
        security=SimulatorSecurity(
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            client_ca=args.client_ca,
            token=args.require_token or os.environ.get("SIMULATOR_TOKEN") or None,
        ),
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from app.background import work_until_stopped
    from app.main import build_collaborators
    from app.observability import configure_logging, serve_metrics
    from app.worker_health import Heartbeat, serve_worker_health

    configure_logging()
    collaborators = build_collaborators(load_settings())
    if args.metrics_port is not None:
        serve_metrics(args.metrics_host, args.metrics_port)
    heartbeat = Heartbeat(collaborators.settings.worker_stall_seconds)
    if collaborators.settings.worker_health_port is not None:
        serve_worker_health(
            collaborators.settings.worker_health_host, collaborators.settings.worker_health_port, heartbeat
        )

    try:
        asyncio.run(work_until_stopped(collaborators, heartbeat=heartbeat))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_notifications(args: argparse.Namespace) -> int:
    from app.notifications.operator import run

    return run(load_settings(), failed=args.failed, replay=args.replay)


def cmd_verify_export(args: argparse.Namespace) -> int:
    from app.audit.offline import main as verify_export

    return verify_export(args.arguments)


def cmd_audit_archive(args: argparse.Namespace) -> int:
    from app.audit.archiving import run_command
    from app.main import build_collaborators

    collaborators = build_collaborators(load_settings())
    return run_command(collaborators, collaborators.issuer.pdfs.signer, args.before, args.out, args.keep_detached)


def cmd_verify_credential(args: argparse.Namespace) -> int:
    from app.credentials.cli import main as verify_credential

    return verify_credential(args.arguments)


def cmd_migrate(args: argparse.Namespace) -> int:
    _migrate_or_explain(load_settings())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from demo.walkthrough import run
    except ModuleNotFoundError as exc:
        if exc.name != "rich":
            raise
        print(
            "cityservices: the demo draws with rich, which the server does not need: pip install 'cityservices[demo]'",
            file=sys.stderr,
        )
        return 2

    return run(base_url=args.base_url, out_dir=args.out, data_dir=args.data_dir, temporary=args.temporary)


# The committed document, in the source checkout. An installed package has no checkout around it: there
# `cityservices openapi` prints the document (or writes --out) rather than write into site-packages.
OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def _in_a_checkout() -> bool:
    return (OPENAPI_FILE.parent.parent / "pyproject.toml").is_file() and OPENAPI_FILE.parent.is_dir()


def render_openapi() -> str:
    from app.config import Settings
    from app.main import create_app

    document = create_app(Settings(), start_worker=False).openapi()
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    target: Path | None = args.out if args.out is not None else (OPENAPI_FILE if _in_a_checkout() else None)
    rendered = render_openapi()
    if args.check:
        if target is None:
            print("cityservices: --check needs --out FILE outside a source checkout", file=sys.stderr)
            return 2
        if not target.exists() or target.read_text(encoding="utf-8") != rendered:
            print(f"cityservices: {target} is out of date; run `cityservices openapi`", file=sys.stderr)
            return 1
        return 0
    if target is None or str(target) == "-":
        sys.stdout.write(rendered)
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(rendered, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cityservices", description="Shanghai city services")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (migrations first, in development)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port to listen on")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes; /metrics then adds up all of them (PROMETHEUS_MULTIPROC_DIR)",
    )
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="print a development token")
    token.add_argument("--role", required=True, choices=["citizen", "clerk", "auditor"], help="the role it carries")
    token.add_argument(
        "--id-number",
        help="the person's 18-character resident identity number (staff default: 310101198001010018, one "
        "development staff member; give each clerk their own to act on each other's window filings)",
    )
    token.add_argument("--name", help="the verified real name")
    token.add_argument("--station", help="a clerk's police station, e.g. 310105-HQLB")
    token.add_argument("--sub", help="the subject (default: derived from the other claims)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token.set_defaults(func=cmd_token)

    simulate = sub.add_parser("simulate", help="run one agency simulator as its own HTTP server")
    simulate.add_argument("agency", choices=["police", "housing"], help="which agency to play")
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on")
    simulate.add_argument("--port", type=int, default=None, help="TCP port (default 8101 police, 8102 housing)")
    simulate.add_argument(
        "--dataset",
        type=Path,
        help="dataset file (integrations/datasets/README.md; default: $SIMULATOR_DATASET or the demo)",
    )
    simulate.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    simulate.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 503 (0..1)")
    simulate.add_argument("--down", action="store_true", help="answer every request 503")
    simulate.add_argument("--tls-cert", type=Path, help="serve HTTPS with this PEM certificate (chain)")
    simulate.add_argument("--tls-key", type=Path, help="the PEM private key of --tls-cert")
    simulate.add_argument(
        "--client-ca",
        type=Path,
        help="require a client certificate issued by this PEM CA (mutual TLS; needs --tls-cert)",
    )
    simulate.add_argument(
        "--require-token",
        default=None,
        help="require `Authorization: Bearer <this>` (default: $SIMULATOR_TOKEN, else none)",
    )
    simulate.set_defaults(func=cmd_simulate)

    worker = sub.add_parser("worker", help="run the background work (retries of pending_agency, notification delivery)")
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve this process's Prometheus metrics on this port (default: none)",
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address the metrics port listens on")
    worker.set_defaults(func=cmd_worker)

    openapi = sub.add_parser(
        "openapi", help="regenerate openapi/openapi.json from the code (installed: print the document)"
    )
    openapi.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write it (`-`: standard output; default: the checkout's openapi/openapi.json, "
        "or standard output when installed)",
    )
    openapi.add_argument("--check", action="store_true", help="fail if the committed file (or --out) differs")
    openapi.set_defaults(func=cmd_openapi)

    demo = sub.add_parser("demo", help="run the whole story (citizen, clerk, auditor) and keep the signed PDFs")
    demo.add_argument(
        "--base-url",
        default="http://127.0.0.1:8000",
        help="a running service; if nothing answers /healthz there, a temporary one is started",
    )
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="where the PDFs go")
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="DATA_DIR of the running service, for its dev tokens (default: $DATA_DIR or ./data)",
    )
    demo.add_argument("--temporary", action="store_true", help="always start a temporary service of its own")
    demo.set_defaults(func=cmd_demo)

    notifications = sub.add_parser("notifications", help="dead-lettered notifications: list them, replay one")
    action = notifications.add_mutually_exclusive_group(required=True)
    action.add_argument("--failed", action="store_true", help="list events whose delivery gave up")
    action.add_argument("--replay", type=int, metavar="ID", help="deliver this dead-lettered event again")
    notifications.set_defaults(func=cmd_notifications)

    migrate = sub.add_parser("migrate", help="apply database migrations (same as `alembic upgrade head`)")
    migrate.set_defaults(func=cmd_migrate)

    verify_export = sub.add_parser(
        "verify-export",
        help="check an exported request log against signed checkpoints and the anchors (offline)",
        add_help=False,  # its own parser (app/audit/offline.py) answers --help
    )
    verify_export.add_argument(
        "arguments", nargs=argparse.REMAINDER, help="EXPORT [CHECKPOINT ...] --trust PEM [--anchor URL ...]"
    )
    verify_export.set_defaults(func=cmd_verify_export)

    archive = sub.add_parser("audit-archive", help="detach and export the request log's months before one (PostgreSQL)")
    archive.add_argument("--before", required=True, metavar="YYYY-MM", help="archive every month before this one")
    archive.add_argument(
        "--out", type=Path, required=True, help="the archive's directory: events, checkpoints, boundary"
    )
    archive.add_argument("--keep-detached", action="store_true", help="keep the detached tables (default: drop them)")
    archive.set_defaults(func=cmd_audit_archive)

    verify_credential = sub.add_parser(
        "verify-credential",
        help="verify a wallet credential (SD-JWT VC): signature, disclosures, vct, expiry, status list",
        add_help=False,  # its own parser (app/credentials/cli.py) answers --help
    )
    verify_credential.add_argument("arguments", nargs=argparse.REMAINDER, help="FILE|- [--issuer URL] [--vct VCT]")
    verify_credential.set_defaults(func=cmd_verify_credential)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cityservices")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["verify-export"]:  # its options, --help included, are its own parser's
        return cmd_verify_export(argparse.Namespace(arguments=argv[1:]))
    if argv[:1] == ["verify-credential"]:
        return cmd_verify_credential(argparse.Namespace(arguments=argv[1:]))
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
