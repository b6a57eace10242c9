# The connector image: built with the official Rust image, run on slim Debian (the platform runs
# the entrypoint through `sh -c`, so the image needs /bin/sh) as the unprivileged user airbyte.
# The cache mounts need BuildKit (Docker's default builder since 23.0) or podman/buildah.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY emulator ./emulator
# Two caches kept by the engine between builds on one machine, never part of the image: the crates
# downloaded, and the target directory, so that a rebuild after a change of the sources compiles
# only the connector (2 minutes on 2 busy cores, where everything took 21). The binary is therefore
# copied out in the same step. Its symbols are stripped, as in the wheel (pyproject.toml): the same
# code, 18 MB instead of 26.
RUN --mount=type=cache,id=source-aws-cloudtrail-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=source-aws-cloudtrail-target,target=/src/target \
    CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --locked -p source-aws-cloudtrail \
    && cp target/release/source-aws-cloudtrail /usr/local/bin/source-aws-cloudtrail

# The CA bundle the connector's TLS reads (rustls with the system's roots), from the newest
# ca-certificates (bookworm-security's; not pinned: a pin keeps the roots of the day it was
# written). Built in a stage of its own: the package needs openssl and libssl3 (9 MB) only to
# make the bundle, the connector never runs them.
FROM debian:bookworm-slim AS certificates
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

FROM debian:bookworm-slim
# Security updates at every build: the base image's packages upgraded to bookworm-security's.
RUN apt-get update \
    && apt-get upgrade -y \
    && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/log/apt /var/log/dpkg.log \
    && useradd --uid 1000 --user-group --create-home --home-dir /airbyte airbyte
COPY --from=certificates /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/local/bin/source-aws-cloudtrail /usr/local/bin/source-aws-cloudtrail
LABEL io.airbyte.name=airbyte/source-aws-cloudtrail
LABEL io.airbyte.version=2.0.0
LABEL org.opencontainers.image.source=https://github.com/airbytehq/airbyte/tree/master/airbyte-integrations/connectors/source-aws-cloudtrail
LABEL org.opencontainers.image.version=2.0.0
LABEL org.opencontainers.image.licenses=MIT
LABEL org.opencontainers.image.title=source-aws-cloudtrail
LABEL org.opencontainers.image.description="Airbyte source connector for AWS CloudTrail"
ENV AIRBYTE_ENTRYPOINT="/usr/local/bin/source-aws-cloudtrail"
ENTRYPOINT ["/usr/local/bin/source-aws-cloudtrail"]
USER 1000:1000
WORKDIR /airbyte
