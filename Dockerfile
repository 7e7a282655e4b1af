# syntax=docker/dockerfile:1
FROM rust:1.88-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
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
