# chromahouse container image (see the README's "Containers" section and docker-compose.yml).
#
#   docker build -t chromahouse .
#   docker run -p 8000:8000 -e CHROMAHOUSE_CLICKHOUSE_URL=http://ch-host:8123 chromahouse
#
# Two stages on Debian 12 (bookworm), the distribution the project is built and tested on:
#   build    the Makefile's build packages (tests/docker/validate.sh checks that this list is
#            the Makefile's APT_PACKAGES minus the test-only ones), `cmake --preset release`,
#            only the `chromahouse` target;
#   runtime  bookworm-slim with the shared libraries the binary links (their non -dev
#            packages), curl for the health check, a non-root user.
#
# The image holds no clickhouse-server: it always runs against an external ClickHouse, so set
# CHROMAHOUSE_CLICKHOUSE_URL (docker-compose.yml runs the official ClickHouse image beside it).
# Every other setting comes from the environment too (CHROMA_* / CHROMAHOUSE_* variables: the
# README's Configuration section, src/config/config.cc for the complete list).

FROM debian:12 AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost-dev libboost-system-dev libsimdjson-dev libcurl4-openssl-dev libspdlog-dev \
      libfmt-dev libcli11-dev libyaml-cpp-dev libre2-dev libjemalloc-dev libxxhash-dev \
      libpq-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Parallel compile jobs (default: every core the builder has).
ARG BUILD_JOBS=
# The tests are not built here (no GoogleTest in this stage). The installed binary loses the
# debug info (about 62 of RelWithDebInfo's 65 MB) but keeps its symbols, for backtraces.
RUN cmake --preset release -DCHROMAHOUSE_BUILD_TESTS=OFF \
 && cmake --build build --target chromahouse -j "${BUILD_JOBS:-$(nproc)}" \
 && strip --strip-debug -o /chromahouse build/chromahouse \
 && /chromahouse version


FROM debian:12-slim AS runtime

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcurl4 libsimdjson14 libspdlog1.10 libfmt9 libyaml-cpp0.7 libre2-9 libjemalloc2 libpq5 \
      libcrypt1 libstdc++6 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid, so that files on mounted volumes have a predictable owner.
RUN groupadd --system --gid 10001 chromahouse \
 && useradd --system --uid 10001 --gid chromahouse --home-dir /var/lib/chromahouse \
      --shell /usr/sbin/nologin chromahouse \
 && install -d -o chromahouse -g chromahouse -m 0750 /var/lib/chromahouse

COPY --from=build /chromahouse /usr/local/bin/chromahouse

USER chromahouse:chromahouse
WORKDIR /var/lib/chromahouse

# Listen on every interface of the container. CMD passes --host (a flag wins over the
# environment); CHROMA_HOST keeps the same address when the command is replaced by other
# flags. CHROMA_PORT is read by the health check below as well.
ENV CHROMA_HOST=0.0.0.0 \
    CHROMA_PORT=8000

EXPOSE 8000

# /api/v2/healthcheck answers without credentials (also with auth on), 200 when ClickHouse
# answers and 503 when it does not, so the container turns unhealthy while ClickHouse is down.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${CHROMA_PORT:-8000}/api/v2/healthcheck" || exit 1

# SIGTERM (docker stop) is a clean shutdown: requests in flight are answered, exit status 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["chromahouse", "run"]
CMD ["--host", "0.0.0.0"]
