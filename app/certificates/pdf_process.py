"""One PDF process (`python -m app.certificates.pdf_process`): it renders and signs the documents its
serving process sends, one at a time, and answers each (app/certificates/pdf_pool.py is the other end).

Spoken over the process's own stdin and stdout, in frames: a 4-byte big-endian length, then a pickle. The
first frame in is the configuration, answered once the renderer and the signer are ready; then each frame in
is a `CertificateDocument`, each frame out `(True, pdf_bytes)` or `(False, the exception)`. Whatever else the
process writes to stdout (a library's warning) goes to stderr instead, so that it never lands inside a frame.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from typing import IO, Any

from app.certificates.rendering import CertificateDocument, CertificateRenderer
from app.certificates.signing import PdfSigner
from app.heap import freeze_startup_heap

HEADER = struct.Struct(">I")


def frame(value: Any) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def answer(value: Any) -> bytes:
    """`frame(value)`, or, for an exception that does not pickle, a RuntimeError that says what it was."""
    try:
        return frame(value)
    except Exception:
        ok, error = value
        return frame((ok, RuntimeError(f"{type(error).__name__}: {error}")))


def _read_frame(stream: IO[bytes]) -> Any | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None  # the serving process closed our stdin: time to go
    (size,) = HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def produce(renderer: CertificateRenderer, signer: PdfSigner, doc: CertificateDocument) -> bytes:
    """Render and sign one document: here, and in the serving process's threads when it has no processes."""
    return signer.sign(renderer.render(doc), reason=f"{doc.title} {doc.serial}")


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the serving process stops us (closes our
    # stdin) once its documents under way are done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    config = _read_frame(requests)
    if config is None:
        return
    font_file, key_file, cert_file, tsa_url = config
    try:
        renderer = CertificateRenderer(font_file=font_file)
        signer = PdfSigner(key_file=key_file, cert_file=cert_file, tsa_url=tsa_url)
    except Exception as exc:
        out.write(answer((False, exc)))
        out.flush()
        return
    freeze_startup_heap()
    out.write(frame((True, None)))
    out.flush()
    while (doc := _read_frame(requests)) is not None:
        try:
            result: tuple[bool, Any] = (True, produce(renderer, signer, doc))
        except Exception as exc:
            result = (False, exc)
        out.write(answer(result))
        out.flush()


if __name__ == "__main__":
    main()
