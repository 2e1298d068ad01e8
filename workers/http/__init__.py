"""HTTP ingest (FastAPI): ``create_app(container)``; ``build`` is the uvicorn factory."""

from workers.http.app import build, create_app

__all__ = ["build", "create_app"]
