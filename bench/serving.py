"""A reference app served as `cityservices serve --workers N` serves the service: uvicorn on uvloop and
httptools, each worker on a listening socket of its own (app/api/listening.py). With uvicorn's one shared
socket a closed loop's connections could all land on one worker, and a reference's maximum halved from
one run to the next (42 against 84 issuances a second, same code).

    python -m bench.serving bench.floor_app:app 8123 2
"""

from __future__ import annotations

import sys

import uvicorn

from app.api import listening

HOST = "127.0.0.1"


def main(argv: list[str]) -> None:
    app, port, workers = argv[0], int(argv[1]), int(argv[2])
    # Named, not left to auto-detection: a venv missing uvloop or httptools fails instead of measuring the
    # slow pure-Python stack. No access log, as a reference.
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
    if workers > 1 and listening.spreads_connections(port):
        listening.serve_on_own_sockets(config)
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1:])
