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
# only the connector (about a minute instead of the dependencies' fifteen). The binary is therefore
# copied out in the same step. Its symbols are stripped, as in the wheel (pyproject.toml): the same
# code, a third of the size.
RUN --mount=type=cache,id=source-aws-cloudtrail-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=source-aws-cloudtrail-target,target=/src/target \
    CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --locked -p source-aws-cloudtrail \
    && cp target/release/source-aws-cloudtrail /usr/local/bin/source-aws-cloudtrail

FROM debian:bookworm-slim
# Security updates at every build: the base image's packages upgraded and the newest
# ca-certificates (bookworm-security's). Not pinned: a pin keeps the fixes of the day it was written.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get upgrade -y \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --user-group --create-home --home-dir /airbyte airbyte
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
