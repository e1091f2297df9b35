# Multi-stage build: compile in the Rust image, run from a small Debian slim image as non-root.
# The gateway runs as `router` (uid 10001); the entrypoint starts as root only to make the
# mounted cache/ and logs/ writable, whatever their ownership on the host, then drops to it.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY examples ./examples
COPY data ./data
# The shipped providers.yaml is also compiled in (the fallback for the original's configs).
COPY config ./config
RUN cargo build --release --locked --bin smart-ai-router

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin router
WORKDIR /app
COPY --from=build /src/target/release/smart-ai-router /usr/local/bin/smart-ai-router
COPY config ./config
COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh
RUN mkdir -p cache logs data && chown -R router:router /app
EXPOSE 7601
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:7601/health || exit 1
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["serve", "--host", "0.0.0.0", "--port", "7601"]
