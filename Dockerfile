# The connector image: built with the official Rust image, run on slim Debian (the platform runs
# the entrypoint through `sh -c`, so the image needs /bin/sh) as the unprivileged user airbyte.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY emulator ./emulator
RUN cargo build --release --locked -p source-aws-cloudtrail

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --user-group --create-home --home-dir /airbyte airbyte
COPY --from=build /src/target/release/source-aws-cloudtrail /usr/local/bin/source-aws-cloudtrail
LABEL io.airbyte.name=airbyte/source-aws-cloudtrail
LABEL io.airbyte.version=2.0.0
ENV AIRBYTE_ENTRYPOINT="/usr/local/bin/source-aws-cloudtrail"
ENTRYPOINT ["/usr/local/bin/source-aws-cloudtrail"]
USER 1000:1000
WORKDIR /airbyte
