# syntax=docker/dockerfile:1
# The base image by digest, so a rebuild gets the same bytes. To move to a newer patch release:
#   docker buildx imagetools inspect python:3.11-slim-bookworm   # then paste its digest here
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

# Build stage: the locked dependencies (hash-checked) and our wheel, into a virtual environment that the
# runtime stage copies (asyncpg, uvloop, httptools, cryptography may need a toolchain only here). Both go
# in through scripts/install-runtime.sh, the script the production smoke of .ci/run installs with, so
# what CI proves is what this image runs.
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHON=python
WORKDIR /src
# requirements/main.txt is generated from pyproject.toml by scripts/lock.sh (pip-tools, with hashes).
COPY requirements/main.txt ./requirements/main.txt
COPY scripts/install-runtime.sh ./scripts/install-runtime.sh
RUN bash scripts/install-runtime.sh /opt/cityservices requirements/main.txt
COPY pyproject.toml README.md ./
COPY app ./app
COPY integrations ./integrations
COPY migrations ./migrations
COPY demo ./demo
RUN python -m pip wheel --no-deps --wheel-dir /tmp/dist . \
 && bash scripts/install-runtime.sh /opt/cityservices requirements/main.txt /tmp/dist/cityservices-*.whl

# Runtime stage: slim, no compilers, non-root. No system font: the wheel carries the CJK font that
# certificates embed (app/certificates/fonts).
FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --home-dir /srv/cityservices --create-home cityservices
COPY --from=build /opt/cityservices /opt/cityservices
WORKDIR /srv/cityservices
# Migrations travel in the wheel: `docker run … cityservices migrate` before rolling out. alembic.ini and the
# scripts are here too, for `alembic upgrade head` (CONTRACT §3).
COPY alembic.ini ./
COPY migrations ./migrations
ENV PATH=/opt/cityservices/bin:$PATH \
    ENVIRONMENT=production \
    DATA_DIR=/srv/cityservices/data \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER cityservices
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["cityservices", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
