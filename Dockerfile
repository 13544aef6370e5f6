# syntax=docker/dockerfile:1
# Build: docker build -t pipeline-service .
# Run:   docker run -p 8000:8000 -v pipeline-data:/data pipeline-service

FROM swift:6.1-jammy AS build
RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-dev zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies first so they are cached across source changes.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
ENV SWIFT_DETERMINISTIC_HASHING=1
RUN swift build -c release --product pipeline-service --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/pipeline-service" /pipeline-service

FROM ubuntu:jammy
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-0 zlib1g ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin pipeline \
    && mkdir -p /data && chown pipeline /data
COPY --from=build /pipeline-service /usr/local/bin/pipeline-service
USER pipeline
WORKDIR /data
VOLUME ["/data"]
ENV PIPELINE_HOST=0.0.0.0 \
    PIPELINE_PORT=8000 \
    PIPELINE_BACKEND=jsonl \
    PIPELINE_JSONL_PATH=/data/pipeline_data.jsonl \
    PIPELINE_SQLITE_PATH=/data/pipeline_data.sqlite
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PIPELINE_PORT}/health" || exit 1
ENTRYPOINT ["pipeline-service"]
CMD ["serve"]
