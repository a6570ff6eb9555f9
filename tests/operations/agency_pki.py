"""Certificates made in the test (trustme): an agency CA, the simulator's server certificate for
127.0.0.1, our client certificate, and a stranger's, from another CA; and a TLS simulator process."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.servers import CITYSERVICES, free_port, service_env


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


def make_pki(directory: Path) -> Pki:
    agency_ca, stranger_ca = trustme.CA(organization_name="Agency CA"), trustme.CA(organization_name="Elsewhere")
    server = agency_ca.issue_cert("127.0.0.1", "localhost")
    client = agency_ca.issue_cert("cityservices-platform")
    stranger = stranger_ca.issue_cert("cityservices-platform")
    files = {
        "ca": agency_ca.cert_pem,
        "server_cert": server.cert_chain_pems[0],
        "server_key": server.private_key_pem,
        "client_cert": client.cert_chain_pems[0],
        "client_key": client.private_key_pem,
        "stranger_cert": stranger.cert_chain_pems[0],
        "stranger_key": stranger.private_key_pem,
    }
    for name, blob in files.items():
        blob.write_to_path(str(directory / f"{name}.pem"))
    return Pki(**{name: directory / f"{name}.pem" for name in files})


def _tls_port_open(port: int, pki: Pki) -> bool:
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1"),
        ):
            return True
    except OSError:
        return False


@dataclass
class RunningSimulator:
    url: str
    log_lines: list[str]


@contextmanager
def tls_simulator(agency: str, pki: Pki, *, token: str | None, data_dir: Path) -> Iterator[RunningSimulator]:
    """`cityservices simulate <agency>` over mutual TLS (and a bearer token if given); always stopped."""
    port = free_port()
    args = [
        *CITYSERVICES,
        "simulate",
        agency,
        "--port",
        str(port),
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        "--client-ca",
        str(pki.ca),
    ]
    if token:
        args += ["--require-token", token]
    log = data_dir / f"{agency}-{port}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            args, env=service_env(data_dir), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = RunningSimulator(url=f"https://127.0.0.1:{port}", log_lines=[])
    try:
        deadline = time.monotonic() + 60
        while not _tls_port_open(port, pki):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"simulator did not start:\n{log.read_text()}"
            time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=15)
        running.log_lines[:] = log.read_text().splitlines()


def json_lines(lines: list[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines if line.strip()]
