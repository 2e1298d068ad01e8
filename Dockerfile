# signalfleet: one image for every process of compose.yaml (worker, beat, ingest, http-ingest,
# flower, migrate). Real PostgreSQL/Redis come from the environment; no embedded servers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH

RUN pip install --no-cache-dir "uv>=0.4" \
    && useradd --create-home --uid 10001 fleet

WORKDIR /app

# Dependencies first (cached until the lock changes), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY alembic.ini ./
COPY domain ./domain
COPY persistence ./persistence
COPY workers ./workers
COPY migrations ./migrations
RUN uv sync --frozen --no-dev \
    && mkdir -p /app/var/metrics && chown -R fleet:fleet /app/var

USER fleet
ENV SIGNALFLEET_VAR_DIR=/app/var
ENTRYPOINT ["fleet"]
CMD ["--help"]
