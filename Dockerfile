# OpsDrill: one process runs the whole bot. Install steps mirror the Makefile's (`pip install -e`).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////data/opsdrill.db \
    OPSDRILL_HEARTBEAT_FILE=/tmp/opsdrill.heartbeat

RUN groupadd --system --gid 10001 opsdrill \
    && useradd --system --uid 10001 --gid opsdrill --home-dir /app --shell /usr/sbin/nologin opsdrill \
    && mkdir -p /data \
    && chown opsdrill:opsdrill /data

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY adapters ./adapters
COPY migrations ./migrations
COPY questions ./questions
RUN python -m pip install -e .

USER 10001:10001
VOLUME ["/data"]
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["opsdrill", "health"]
CMD ["opsdrill", "run"]
