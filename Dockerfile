# syntax=docker/dockerfile:1
# Rust as pinned in rust-toolchain.toml (which is not copied in: the image's tag is the pin here;
# move both together).
FROM rust:1.95.0-bookworm AS build
WORKDIR /src

# Dependencies first, in a layer of their own: it is rebuilt only when Cargo.toml or Cargo.lock
# change, not on every change to the sources. Stub targets stand in for the real ones: cargo
# wants a file for every target the manifest names, so each [[bench]] gets a stub too, its name
# read from the manifest's [[bench]] sections (a new bench needs no change here;
# tests/api/deploy.rs runs this awk against Cargo.toml). The stub's own artifacts are removed
# afterwards so the real build cannot mistake them for up to date.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && for bench in $(awk '/^\[/ { in_bench = ($0 == "[[bench]]") } in_bench && /^name *=/ { gsub(/^name *= *"|".*$/, ""); print }' Cargo.toml); do \
      echo 'fn main() {}' > "benches/$bench.rs"; \
    done \
 && cargo build --release --locked --bin precall-webhook \
 && rm -rf src benches \
    target/release/precall-webhook* \
    target/release/deps/precall_webhook-* target/release/deps/libprecall_webhook-* \
    target/release/.fingerprint/precall-webhook-*

COPY src src
COPY benches benches
RUN cargo build --release --locked --bin precall-webhook

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1001 --no-create-home --home-dir /app --shell /usr/sbin/nologin app \
 && mkdir -p /app/storage/voice_samples /app/logs \
 && chown -R 1001:1001 /app
COPY --from=build /src/target/release/precall-webhook /usr/local/bin/precall-webhook
WORKDIR /app
USER 1001
ENV PRECALL_WEBHOOK_HOST=0.0.0.0 \
    PRECALL_WEBHOOK_PORT=3005 \
    VOICE_SAMPLE_STORAGE_PATH=/app/storage/voice_samples
EXPOSE 3005
# The binary checks its own /health: no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 \
  CMD ["precall-webhook", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["precall-webhook"]
CMD ["serve"]
