# OpsDrill: one process runs the whole bot.
#
# Two stages. `build` makes the wheel from the sources; the wheel carries the question bank and
# the Alembic migrations inside the package, so the image needs no source tree. The runtime
# stage installs the exact versions in requirements.lock, then the wheel without resolving
# anything again, and runs as an unprivileged user. pyproject.toml keeps version ranges for
# people installing OpsDrill as a library; `make lock` re-pins after a dependency change.
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The build backend at the versions the lock pins for development.
COPY requirements-dev.lock ./
RUN python -m pip install --no-cache-dir -c requirements-dev.lock setuptools wheel
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY questions ./questions
COPY migrations ./migrations
RUN python -m pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /dist .

FROM python:${PYTHON_VERSION}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////data/opsdrill.db \
    OPSDRILL_HEARTBEAT_FILE=/tmp/opsdrill.heartbeat

RUN groupadd --system --gid 10001 opsdrill \
    && useradd --system --uid 10001 --gid opsdrill --home-dir /data --shell /usr/sbin/nologin opsdrill \
    && mkdir -p /data \
    && chown opsdrill:opsdrill /data

# Dependencies first (their layer survives code changes), then OpsDrill itself; `pip check`
# fails the build if the lock is missing something the wheel needs.
COPY requirements.lock /tmp/requirements.lock
RUN python -m pip install --no-cache-dir -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY --from=build /dist /tmp/dist
RUN python -m pip install --no-cache-dir --no-deps /tmp/dist/opsdrill-*.whl \
    && python -m pip check \
    && rm -rf /tmp/dist

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# `opsdrill run` touches the heartbeat file every 30 s; `opsdrill health` fails once it is stale.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["opsdrill", "health"]
CMD ["opsdrill", "run"]
