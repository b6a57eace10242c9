"""The connector image for the tests: built from the Dockerfile by `docker build` (once per test
session; the engine's layer cache makes a build of unchanged sources take seconds), and run the way
the Airbyte platform runs it. scripts/container-runtime.sh gives machines without a Docker engine
one, and the base images where no registry is reachable."""
import functools
import hashlib
import json
import os
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A tag of this checkout's own: the engine is the machine's, and test runs of several checkouts at
# once must not test each other's image. scripts/test.sh builds the same tag (image_tag there).
IMAGE = "airbyte/source-aws-cloudtrail:dev-" + hashlib.sha256(os.path.realpath(ROOT).encode()).hexdigest()[:12]
# The build's output, for a failure to show and for the build time in the report.
BUILD_LOG = os.path.join(ROOT, "target", "image-build.log")


class NoEngine(RuntimeError):
    pass


@functools.cache
def build():
    """Builds IMAGE from the Dockerfile; returns its name. Raises NoEngine when `docker` has no
    engine to talk to, RuntimeError with the build's last lines when the build fails."""
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        raise NoEngine("no Docker engine answers `docker info`: run `bash scripts/container-runtime.sh` "
                       "(as root; it starts one where there is none)")
    os.makedirs(os.path.dirname(BUILD_LOG), exist_ok=True)
    start = time.monotonic()
    with open(BUILD_LOG, "w") as log:
        code = subprocess.run(["docker", "build", "-t", IMAGE, ROOT], stdout=log, stderr=subprocess.STDOUT).returncode
        log.write(f"\n# docker build: exit {code} in {time.monotonic() - start:.0f} s\n")
    if code != 0:
        with open(BUILD_LOG) as log:
            raise RuntimeError("docker build failed:\n" + "".join(log.readlines()[-30:]))
    return IMAGE


def dockerfile_base():
    """The image the Dockerfile's last stage (the connector's image) is built FROM."""
    with open(os.path.join(ROOT, "Dockerfile")) as f:
        return [line.split()[1] for line in f if line.startswith("FROM ")][-1]


def inspect(image=IMAGE):
    out = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


def platform_run(args, files=None, *, image=IMAGE, timeout=600):
    """Runs `sh -c 'eval "$AIRBYTE_ENTRYPOINT <args>"'` in the image as the platform does: as user
    1000, root filesystem read-only, no capabilities, the files (name -> JSON value) mounted
    read-only under /config. Host networking, so that the container reaches the emulator and the
    S3 server on loopback. Returns (exit code, decoded stdout messages, stderr)."""
    with tempfile.TemporaryDirectory(prefix="image-config-") as config_dir:
        os.chmod(config_dir, 0o755)
        for name, value in (files or {}).items():
            path = os.path.join(config_dir, name)
            with open(path, "w") as f:
                json.dump(value, f)
            os.chmod(path, 0o644)
        argv = ["docker", "run", "--rm", "--user", "1000:1000", "--read-only", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges", "--network", "host",
                "-v", f"{config_dir}:/config:ro", "--entrypoint", "sh", image,
                "-c", f'eval "$AIRBYTE_ENTRYPOINT {args}"']
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return out.returncode, [json.loads(line) for line in out.stdout.splitlines()], out.stderr


def last_states(messages):
    """The last STATE of each stream, as a state file holds them."""
    by_stream = {}
    for m in messages:
        if m["type"] == "STATE":
            by_stream[m["state"]["stream"]["stream_descriptor"]["name"]] = m["state"]
    return list(by_stream.values())
