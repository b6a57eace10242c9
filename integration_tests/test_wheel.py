"""The wheel as users install it: PyAirbyte's `pip_url=` into a virtualenv of its own, offline,
with uv and with pip (AIRBYTE_NO_UV=1), then check, streams, read into the default DuckDB cache
and to_pandas; and the wheel itself (manylinux per auditwheel, the binary in bin/, Cargo's version).
scripts/wheel.sh builds the wheel into target/wheels/ before the tests run."""
import glob
import json
import os
import re
import stat
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT
from test_packaging import cargo_version

AUDITWHEEL = os.path.join(ROOT, ".tools", "wheel", "bin", "auditwheel")
VENV_BIN = os.path.dirname(sys.executable)

# Run in a fresh interpreter per case: PyAirbyte reads AIRBYTE_NO_UV once, when it is imported.
USER_FLOW = r"""
import json, sys
import airbyte as ab

config, wheel = json.loads(sys.argv[1]), sys.argv[2]
source = ab.get_source("source-aws-cloudtrail", pip_url=wheel, config=config)
source.check()
streams = source.get_available_streams()
source.select_all_streams()
cache = ab.get_default_cache()
source.read(cache=cache)
df = cache["management_events"].to_pandas()
print(json.dumps({
    "version": source.connector_version,
    "executable": str(source.executor._get_connector_path()),
    "streams": streams,
    "event_ids": sorted(df["eventid"]),
    "trails": len(cache["trails"].to_pandas()),
}))
"""


def the_wheel():
    found = glob.glob(os.path.join(ROOT, "target", "wheels", f"airbyte_source_aws_cloudtrail-{cargo_version()}-*.whl"))
    assert len(found) == 1, f"{found}: scripts/wheel.sh builds exactly one wheel"
    return found[0]


def test_the_wheel_is_portable_and_carries_the_binary():
    wheel = the_wheel()
    tags = set(os.path.basename(wheel)[:-len(".whl")].split("-")[-1].split("."))
    assert tags == {"manylinux2014_x86_64", "manylinux_2_17_x86_64"}, wheel
    assert os.path.basename(wheel).split("-")[2:4] == ["py3", "none"], wheel
    shown = subprocess.run([AUDITWHEEL, "show", wheel], capture_output=True, text=True, check=True).stdout
    flat = " ".join(shown.split())
    assert 'consistent with the following platform tag: "manylinux_2_17_x86_64"' in flat, shown
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        version = cargo_version()
        binary = f"airbyte_source_aws_cloudtrail-{version}.data/scripts/source-aws-cloudtrail"
        assert binary in names, names
        assert stat.S_IMODE(z.getinfo(binary).external_attr >> 16) & 0o111, "the binary is executable"
        metadata = z.read(f"airbyte_source_aws_cloudtrail-{version}.dist-info/METADATA").decode()
    assert re.search(r"^Name: airbyte-source-aws-cloudtrail$", metadata, re.M), metadata
    assert re.search(rf"^Version: {re.escape(version)}$", metadata, re.M), metadata
    assert re.search(r"^License-Expression: MIT$", metadata, re.M), metadata


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_pyairbyte_installs_the_wheel_with_pip_url_offline_and_reads(installer, emulator, tmp_path):
    wheel = the_wheel()
    env = {
        **os.environ,
        # As in an activated virtualenv: PyAirbyte runs `uv` (or `pip`) from PATH.
        "PATH": VENV_BIN + os.pathsep + os.environ["PATH"],
        "AIRBYTE_INSTALL_DIR": str(tmp_path / "install"),
        "AIRBYTE_CACHE_ROOT": str(tmp_path / "cache"),
        "AIRBYTE_OFFLINE_MODE": "1",
        "DO_NOT_TRACK": "1",
        # Offline: no index, no download of a Python, no cache from an earlier run.
        "PIP_NO_INDEX": "1",
        "PIP_NO_CACHE_DIR": "1",
        "UV_OFFLINE": "1",
        "UV_NO_CACHE": "1",
        "UV_PYTHON_DOWNLOADS": "never",
    }
    if installer == "pip":
        env["AIRBYTE_NO_UV"] = "1"
    else:
        env.pop("AIRBYTE_NO_UV", None)
    out = subprocess.run([sys.executable, "-c", USER_FLOW, json.dumps(emulator.config(regions=["us-east-1", "eu-west-1"])), wheel],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # PyAirbyte said how it installed: with uv, or with pip when told not to use uv.
    if installer == "uv":
        assert "with command 'uv venv" in out.stderr and "with command 'uv pip install" in out.stderr, out.stderr
    else:
        assert "-m venv" in out.stderr and "with command 'pip --python" in out.stderr, out.stderr
        assert "uv venv" not in out.stderr
    venv_bin = tmp_path / "install" / ".venv-source-aws-cloudtrail" / "bin"
    assert result["executable"] == str(venv_bin / "source-aws-cloudtrail")
    installed = venv_bin / "source-aws-cloudtrail"
    assert installed.is_file() and not installed.is_symlink()
    assert result["version"] == cargo_version()
    assert {"management_events", "insight_events", "trails"} <= set(result["streams"])
    assert set(result["event_ids"]) == emulator.event_ids() and len(result["event_ids"]) == 1400
    assert result["trails"] == 3
