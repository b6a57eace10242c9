"""The Docker image recipe, metadata.yaml and the platform's way of starting the connector, checked
without a Docker engine: hadolint, the labels/entrypoint/user against metadata.yaml and the Rust
toolchain, and the binary run exactly as the platform runs the entrypoint. The image itself is
built and run in test_image.py."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from xml.etree import ElementTree

import yaml
from airbyte_connector_models.metadata.v0.connector_metadata_definition_v0 import ConnectorMetadataDefinitionV0

from conftest import BIN, ROOT

EXISTING_DEFINITION_ID = "6ff047c0-f5d5-4ce5-8c81-204a830fa7e1"


def dockerfile():
    """Instructions of the Dockerfile as (INSTRUCTION, argument text), continuations joined."""
    text = open(os.path.join(ROOT, "Dockerfile")).read().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            out.append((instruction.upper(), rest.strip()))
    return out


def metadata():
    return yaml.safe_load(open(os.path.join(ROOT, "metadata.yaml")))


def cargo_version():
    return tomllib.load(open(os.path.join(ROOT, "Cargo.toml"), "rb"))["package"]["version"]


def final_stage(instructions):
    last_from = max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM")
    return instructions[last_from:]


def test_hadolint_passes_without_warnings():
    hadolint = os.path.join(os.path.dirname(sys.executable), "hadolint")
    out = subprocess.run([hadolint, os.path.join(ROOT, "Dockerfile")], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_metadata_is_valid_and_names_this_connector():
    m = metadata()
    ConnectorMetadataDefinitionV0.model_validate(m)
    d = m["data"]
    assert d["definitionId"] == EXISTING_DEFINITION_ID
    assert d["dockerRepository"] == "airbyte/source-aws-cloudtrail"
    assert d["dockerImageTag"] == cargo_version()
    assert "language:rust" in d["tags"]
    hosts = d["allowedHosts"]["hosts"]
    assert "cloudtrail.*.amazonaws.com" in hosts and any(h.startswith("sts.") for h in hosts)
    assert cargo_version() in d["releases"]["breakingChanges"]
    assert d["maxSecondsBetweenMessages"] > 0


def test_image_labels_entrypoint_user_and_toolchain_agree():
    ins = dockerfile()
    d = metadata()["data"]
    labels = dict(re.findall(r"(io\.airbyte\.\w+)=(\S+)", " ".join(a for i, a in ins if i == "LABEL")))
    assert labels == {"io.airbyte.name": d["dockerRepository"], "io.airbyte.version": d["dockerImageTag"]}
    final = final_stage(ins)
    entrypoint = json.loads(next(a for i, a in final if i == "ENTRYPOINT"))
    env = next(a for i, a in final if i == "ENV" and a.startswith("AIRBYTE_ENTRYPOINT="))
    assert shlex.split(env.split("=", 1)[1]) == [" ".join(entrypoint)]
    assert entrypoint[0].startswith("/")
    user = [a for i, a in final if i == "USER"][-1]
    assert user in ("airbyte", "1000", "1000:1000")
    run = " ".join(a for i, a in final if i == "RUN")
    assert re.search(r"useradd .*--uid 1000\b.*\bairbyte\b", run), run
    assert [a for i, a in final if i == "WORKDIR"][-1] == "/airbyte"
    base = next(a for i, a in final if i == "FROM")
    assert "scratch" not in base and "distroless" not in base, "the platform needs /bin/sh"
    build = next(a for i, a in ins if i == "FROM")
    rust = re.match(r"rust:(\d+\.\d+\.\d+)", build).group(1)
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
    assert rust == rustc, f"the image builds with Rust {rust}, the toolchain here is {rustc}"
    assert "--locked" in " ".join(a for i, a in ins if i == "RUN")
    ignored = open(os.path.join(ROOT, ".dockerignore")).read().split()
    assert "target/" in ignored


def test_the_binary_runs_as_the_platform_starts_it(emulator, tmp_path):
    """`sh -c 'eval "$AIRBYTE_ENTRYPOINT check --config …"'` with the Dockerfile's entrypoint,
    its absolute path laid out under a scratch root (no Docker engine here)."""
    final = final_stage(dockerfile())
    env_value = shlex.split(next(a for i, a in final if i == "ENV" and a.startswith("AIRBYTE_ENTRYPOINT=")).split("=", 1)[1])[0]
    target = tmp_path / env_value.lstrip("/")
    target.parent.mkdir(parents=True)
    shutil.copy(BIN, target)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(emulator.config()))
    env = {**os.environ, "AIRBYTE_ENTRYPOINT": str(target)}
    for args, kind in ((f"check --config {config}", "CONNECTION_STATUS"), ("spec", "SPEC")):
        out = subprocess.run(["sh", "-c", f'eval "$AIRBYTE_ENTRYPOINT {args}"'], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        messages = [json.loads(line) for line in out.stdout.splitlines()]
        assert [m["type"] for m in messages] == [kind]
        if kind == "CONNECTION_STATUS":
            assert messages[0]["connectionStatus"]["status"] == "SUCCEEDED"


def test_metadata_meets_the_platform_conventions():
    """registryOverrides for both registries, the icon (its SVG in the repo) and the vendor's
    documentation that PyAirbyte and the registry show (API, IAM, quotas, pricing)."""
    d = metadata()["data"]
    assert d["registryOverrides"]["oss"]["enabled"] is True
    assert d["registryOverrides"]["cloud"]["enabled"] is True
    assert d["icon"] == "aws-cloudtrail.svg"
    svg = ElementTree.parse(os.path.join(ROOT, "icon.svg")).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox"), svg.attrib
    assert len(list(svg.iter())) > 3, "the icon draws something"
    urls = {u["type"]: [] for u in d["externalDocumentationUrls"]}
    for u in d["externalDocumentationUrls"]:
        assert u["url"].startswith("https://") and u["title"], u
        urls[u["type"]].append(u["url"])
    assert any("APIReference" in u for u in urls["api_reference"]), urls
    assert any("security-iam" in u for u in urls["permissions_scopes"]), urls
    assert urls["rate_limits"] and any("pricing" in u for u in urls["other"]), urls


def test_the_wheel_recipe_names_the_distribution_and_takes_cargos_version():
    project = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))
    assert project["build-system"]["build-backend"] == "maturin"
    assert project["project"]["name"] == "airbyte-source-aws-cloudtrail"
    # PyAirbyte reports importlib.metadata.version("airbyte-source-aws-cloudtrail"): maturin
    # fills it in from Cargo.toml, so no second version can drift.
    assert project["project"]["dynamic"] == ["version"] and "version" not in project["project"]
    maturin = project["tool"]["maturin"]
    assert maturin["bindings"] == "bin" and maturin["manifest-path"] == "Cargo.toml"
    bins = tomllib.load(open(os.path.join(ROOT, "Cargo.toml"), "rb"))["bin"]
    assert [b["name"] for b in bins] == ["source-aws-cloudtrail"]
