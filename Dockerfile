# syntax=docker/dockerfile:1
# Build: docker build -t pipeline-service .
# Run:   docker run -p 8000:8000 -v pipeline-data:/data pipeline-service
#
# The base images are build arguments, so a mirror or a pinned digest can stand in for them:
#   docker build --build-arg BUILD_IMAGE=registry.example/swift:6.3-jammy \
#                --build-arg RUNTIME_IMAGE=registry.example/ubuntu:jammy -t pipeline-service .
# BUILD_IMAGE needs Swift 6.2 or newer: Package.swift is swift-tools-version 6.1, but the
# versions of hummingbird, swift-log, swift-metrics, swift-prometheus and swift-service-lifecycle
# it asks for are swift-tools-version 6.2. Both images must be Debian-family (apt-get) and the
# runtime's glibc no older than the build image's. scripts/container-test.sh builds and checks
# this file against locally made stand-ins for both.
ARG BUILD_IMAGE=swift:6.3-jammy
ARG RUNTIME_IMAGE=ubuntu:jammy

FROM ${BUILD_IMAGE} AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libsqlite3-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
ENV SWIFT_DETERMINISTIC_HASHING=1
WORKDIR /src
# Resolve dependencies first so they are cached across source changes.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
# -Xlinker -s: a stripped binary (no symbol table; crash backtraces show addresses only).
RUN swift build -c release --product pipeline-service --static-swift-stdlib -Xlinker -s \
    && cp "$(swift build -c release --show-bin-path)/pipeline-service" /pipeline-service

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libsqlite3-0 zlib1g ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && groupadd --system --gid 10001 pipeline \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin pipeline \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /pipeline-service /usr/local/bin/pipeline-service
# Numeric, so platforms that require a non-root user (runAsNonRoot) can verify it.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
ENV PIPELINE_HOST=0.0.0.0 \
    PIPELINE_PORT=8000 \
    PIPELINE_BACKEND=jsonl \
    PIPELINE_JSONL_PATH=/data/pipeline_data.jsonl \
    PIPELINE_SQLITE_PATH=/data/pipeline_data.sqlite
EXPOSE 8000
# Shell form, so the URL follows PIPELINE_PORT and PIPELINE_BASE_PATH as set at `docker run -e`
# (/health is served only under the base path). Settings given as flags instead (`serve --port`)
# are not seen here: set them through the environment.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${PIPELINE_PORT:-8000}${PIPELINE_BASE_PATH%/}/health" || exit 1
ENTRYPOINT ["pipeline-service"]
CMD ["serve"]
