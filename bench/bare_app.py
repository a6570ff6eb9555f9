"""The reference point for HTTP throughput: a bare FastAPI JSON endpoint, nothing else.

uvicorn bench.bare_app:app --workers N   (run.py starts it with the service's worker count)
"""

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}
