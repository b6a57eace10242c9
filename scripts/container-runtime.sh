#!/usr/bin/env bash
# Makes `docker build` and `docker run` work for the image tests: a Docker engine where none answers
# (Debian's podman serving the Docker API on /var/run/docker.sock, through an OCI-runtime wrapper
# for sandboxed machines), and the Dockerfile's base images where no registry can be reached
# (stand-ins made from Debian's packages and the machine's own Rust toolchain).
# Idempotent: with the engine up and both base images present it only checks them (a second or two).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "container-runtime: $*" >&2; }

# One run at a time on a machine (test runs of several checkouts may start together): the engine,
# its configuration and the base images are the machine's.
exec 9> /tmp/source-aws-cloudtrail-container-runtime.lock
flock 9
engine_answers() { timeout 20 docker info > /dev/null 2>&1; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        say "$1 needs root (apt-get, /etc/containers, /var/run/docker.sock); run this script as root"
        exit 1
    fi
}

apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    need_root "installing ${missing[*]}"
    say "apt-get install ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
}

# --- the engine ------------------------------------------------------------------------------
if ! command -v docker > /dev/null; then
    say "no docker command: install Docker's client (the engine can be podman, started here)"
    exit 1
fi
if ! engine_answers; then
    need_root "starting a container engine"
    # podman 4.3 serves the Docker API; runc instead of crun, which refuses this kind of machine's
    # hybrid cgroups ("drop all controllers from cgroupv2"); jq edits the bundles in the wrapper.
    apt_install podman runc jq
    # runc cannot set rlimits here (no CAP_SYS_RESOURCE) and containers cannot get a cgroup of
    # their own: the wrapper takes those parts out of each container's config.json (see its header).
    wrapper=/usr/local/libexec/runc-sandboxed
    if ! cmp -s scripts/container-runtime/runc-sandboxed "$wrapper"; then
        install -D -m 755 scripts/container-runtime/runc-sandboxed "$wrapper"
    fi
    # A drop-in, so that a containers.conf of the machine's own stays as it is.
    conf=/etc/containers/containers.conf.d/50-runc-sandboxed.conf
    want=$(cat << EOF
# Written by source-aws-cloudtrail's scripts/container-runtime.sh: podman on a sandboxed machine.
[containers]
# No cgroup namespace: containers stay in the engine's cgroup (the wrapper drops cgroupsPath).
cgroupns = "host"
[engine]
runtime = "runc-sandboxed"
# No systemd and no journald here.
cgroup_manager = "cgroupfs"
events_logger = "file"
[engine.runtimes]
runc-sandboxed = ["$wrapper"]
EOF
    )
    if [ "$(cat "$conf" 2> /dev/null)" != "$want" ]; then
        mkdir -p "$(dirname "$conf")"
        printf '%s\n' "$want" > "$conf"
    fi
    # A service left from an earlier session that no longer answers: its socket would be in the way.
    rm -f /var/run/docker.sock
    mkdir -p .tools
    log=$(pwd)/.tools/podman-service.log
    say "starting podman system service on unix:///var/run/docker.sock (log: $log)"
    # From /, not from this checkout: the service outlives the run, and once a checkout it was
    # started in is deleted it can no longer attach to containers ("unable to upgrade to tcp,
    # received 409"). (Without the lock's descriptor, which would hold the lock as long as the
    # service lives.)
    (cd / && exec setsid nohup podman system service --time=0 unix:///var/run/docker.sock > "$log" 2>&1 < /dev/null 9>&-) &
    for _ in $(seq 1 60); do
        engine_answers && break
        sleep 0.5
    done
    if ! engine_answers; then
        say "podman system service does not answer; its log:"
        tail -20 .tools/podman-service.log >&2
        exit 1
    fi
fi
say "engine: $(docker version --format '{{.Server.Version}}' 2> /dev/null) at ${DOCKER_HOST:-unix:///var/run/docker.sock}"

# --- the base images -------------------------------------------------------------------------
# The images the Dockerfile builds FROM, read from it so that they cannot drift apart.
mapfile -t BASES < <(sed -nE 's/^FROM[[:space:]]+([^[:space:]]+).*/\1/p' Dockerfile)
RUST_IMAGE=$(printf '%s\n' "${BASES[@]}" | grep '^rust:' | sort -u)
DEBIAN_IMAGE=$(printf '%s\n' "${BASES[@]}" | grep '^debian:' | sort -u)
if [ "$(wc -w <<< "$RUST_IMAGE $DEBIAN_IMAGE")" != 2 ]; then
    say "the Dockerfile should build FROM one rust: and one debian: image, not: ${BASES[*]}"
    exit 1
fi
SUITE=${DEBIAN_IMAGE#debian:}
SUITE=${SUITE%-slim}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
STAND_IN="a stand-in made by scripts/container-runtime.sh (no registry could be reached)"

present() { docker image inspect "$1" > /dev/null 2>&1; }
# podman 4.3's Docker API refuses the commit the Docker client sends ("Decode(): EOF") and leaves
# each imported tarball in /var/tmp: where podman is the engine, podman itself runs, commits and
# imports (same storage).
engine=(docker)
quiet=()
if docker version --format '{{range .Server.Components}}{{.Name}} {{end}}' 2> /dev/null | grep -qi podman \
    && command -v podman > /dev/null; then
    engine=(podman)
    quiet=(-q)
fi
pulled() { timeout 600 docker pull -q "$1" > /dev/null 2>&1; }

# debian:<suite>-slim: debootstrap's minbase variant, trimmed the way Debian's slim images are
# (no manuals, docs or translations, none installed later either), with the same apt sources,
# upgraded to the day's security updates as Debian's own builds are, and nothing cached.
make_debian() {
    apt_install debootstrap
    need_root "debootstrap"
    local root
    work=$(mktemp -d /var/tmp/debian-stand-in.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    root=$work/rootfs
    say "debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"
    if ! debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" > "$work/debootstrap.log" 2>&1; then
        tail -20 "$work/debootstrap.log" >&2
        exit 1
    fi
    cat > "$root/etc/dpkg/dpkg.cfg.d/slim" << 'EOF'
# As in Debian's slim images: packages installed later leave out their manuals and docs too.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
    cat > "$root/etc/apt/apt.conf.d/docker-clean" << 'EOF'
// Downloaded packages are not kept in an image layer.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    rm -f "$root/etc/apt/sources.list"
    cat > "$root/etc/apt/sources.list.d/debian.sources" << EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # Debian's images carry the security updates of the day they are built: so does the stand-in.
    chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq' \
        > "$work/upgrade.log" 2>&1 || { tail -20 "$work/upgrade.log" >&2; exit 1; }
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    rm -rf "$root"/usr/share/{man,info,groff,lintian,linda}/* "$root"/var/lib/apt/lists/* \
        "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/tmp/*
    tar --numeric-owner -C "$root" -c . | "${engine[@]}" import "${quiet[@]}" \
        --change 'CMD ["bash"]' \
        --change "LABEL stand-in=\"$DEBIAN_IMAGE: $STAND_IN\"" \
        - "docker.io/library/$DEBIAN_IMAGE" > /dev/null
}

# rust:<version>-slim-<suite>: the Debian stand-in with what the official image adds (gcc,
# libc6-dev, ca-certificates, the toolchain in /usr/local/rustup, cargo and rustc on PATH). The
# toolchain is the machine's own, which must be the version the Dockerfile names; its docs are
# left out. The machine's CA bundle replaces Debian's, so that cargo in a build reaches crates.io
# where this machine's traffic goes through a TLS proxy of its own (else "self-signed certificate
# in certificate chain"); the runtime image never has it.
make_rust() {
    local version sysroot have tc container
    version=${RUST_IMAGE#rust:}
    version=${version%%-*}
    sysroot=$(rustc --print sysroot)
    have=$(rustc --version | cut -d' ' -f2)
    if [ "$have" != "$version" ]; then
        say "the Dockerfile builds with Rust $version, the toolchain here is $have: no stand-in for $RUST_IMAGE"
        exit 1
    fi
    tc=/usr/local/rustup/toolchains/$version-x86_64-unknown-linux-gnu
    container=rust-stand-in-$$
    say "$RUST_IMAGE from $DEBIAN_IMAGE and the toolchain at $sysroot"
    "${engine[@]}" run --name "$container" --network host \
        -v "$sysroot:/toolchain:ro" -v /etc/ssl/certs/ca-certificates.crt:/machine-ca.crt:ro \
        "docker.io/library/$DEBIAN_IMAGE" sh -euc "
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates gcc libc6-dev > /dev/null
            rm -rf /var/lib/apt/lists/*
            mkdir -p $tc /usr/local/cargo/bin
            for d in bin lib libexec etc; do [ ! -e /toolchain/\$d ] || cp -a /toolchain/\$d $tc/; done
            for b in cargo rustc rustdoc; do ln -s $tc/bin/\$b /usr/local/cargo/bin/\$b; done
            chmod -R a+w /usr/local/rustup /usr/local/cargo
            cat /machine-ca.crt > /etc/ssl/certs/ca-certificates.crt
            /usr/local/cargo/bin/cargo --version" >&2
    "${engine[@]}" commit "${quiet[@]}" \
        --change 'ENV RUSTUP_HOME=/usr/local/rustup' --change 'ENV CARGO_HOME=/usr/local/cargo' \
        --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "ENV RUST_VERSION=$version" \
        --change "LABEL stand-in=\"$RUST_IMAGE: $STAND_IN, with this machine's Rust toolchain and CA bundle\"" \
        "$container" "docker.io/library/$RUST_IMAGE" > /dev/null
    "${engine[@]}" rm "$container" > /dev/null
}

for image in "$DEBIAN_IMAGE" "$RUST_IMAGE"; do
    if present "$image"; then
        continue
    fi
    say "pulling $image"
    if pulled "$image"; then
        continue
    fi
    say "cannot pull $image: making $STAND_IN"
    start=$(date +%s)
    case "$image" in
        debian:*) make_debian ;;
        rust:*) make_rust ;;
    esac
    say "made $image in $(($(date +%s) - start)) s"
done
for image in "$DEBIAN_IMAGE" "$RUST_IMAGE"; do
    say "$image: $(docker image inspect --format '{{index .Config.Labels "stand-in"}}' "$image" 2> /dev/null | grep . || echo "as pulled")"
done
