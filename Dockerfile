# syntax=docker/dockerfile:1
# Build stage: compile wheels (asyncpg, uvloop, httptools, cryptography need a toolchain only here).
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY integrations ./integrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: slim, no compilers, non-root. No system font: the wheel carries the CJK font that
# certificates embed (app/certificates/fonts).
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /srv/cityservices --create-home cityservices
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /srv/cityservices
# Migrations travel with the image: `docker run … alembic upgrade head` before rolling out.
COPY alembic.ini ./
COPY migrations ./migrations
ENV ENVIRONMENT=production \
    DATA_DIR=/srv/cityservices/data \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER cityservices
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["cityservices", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
