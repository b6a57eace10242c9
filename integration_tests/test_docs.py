"""The user docs in the shape Airbyte's connector page template and QA checks expect, the migration
guide from 1.x, and the README's install section with its honest warning about the registry."""
import os
import re

from conftest import BIN, ROOT
from test_packaging import cargo_version

TEMPLATE = ["Prerequisites", "Setup guide", "Supported sync modes", "Supported streams",
            "Performance considerations", "Data type map", "Limitations & troubleshooting", "Changelog"]


def read(*path):
    return open(os.path.join(ROOT, *path)).read()


def headings(text, level):
    text = re.sub(r"(?ms)^```.*?^```", "", text)  # not the comments in code blocks
    return re.findall(rf"(?m)^{'#' * level} (.+)$", text)


def section(text, title):
    return re.search(rf"(?ms)^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text).group(1)


def test_the_page_follows_airbytes_template():
    doc = read("docs", "aws-cloudtrail.md")
    assert headings(doc, 2) == TEMPLATE
    setup = section(doc, "Setup guide")
    assert headings(setup, 3)[:2] == ["For Airbyte Cloud", "For Airbyte Open Source"]
    changelog = section(doc, "Changelog")
    assert re.fullmatch(r"\s*<details>\s*<summary>Expand to review</summary>\s.*</details>\s*", changelog, re.S), changelog
    rows = re.findall(r"(?m)^\| (\d+\.\d+\.\d+) \|", changelog)
    assert rows[0] == cargo_version(), rows
    assert "aws-cloudtrail-migrations.md" in changelog


# Every stream the connector offers: the first three always, the others with `trail_logs`
# (test_every_stream_is_one_discover_offers holds this list to the binary's catalog).
STREAMS = {"management_events", "insight_events", "trails", "trail_events", "trail_insight_events",
           "trail_aggregated_events", "trail_digests"}


def test_every_stream_is_one_discover_offers(emulator, s3, tmp_path):
    from conftest import run_connector

    code, messages, _ = run_connector("discover", tmp_path=tmp_path, config=emulator.config(trail_logs=s3.trail_logs()))
    assert code == 0
    assert {s["name"] for m in messages if m["type"] == "CATALOG" for s in m["catalog"]["streams"]} == STREAMS


def test_the_page_names_every_stream_and_the_limits_users_meet():
    import json
    import subprocess

    doc = read("docs", "aws-cloudtrail.md")
    for title in ("Supported sync modes", "Supported streams"):
        for stream in STREAMS:
            assert f"`{stream}`" in section(doc, title), (title, stream)
    # The spec points users at this page.
    out = subprocess.run([BIN, "spec"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["spec"]["documentationUrl"].endswith("/aws-cloudtrail")
    limits = section(doc, "Limitations & troubleshooting")
    assert "PyAirbyte raises on any TRACE error and keeps nothing of that read" in limits
    assert "012345678901" in limits and "12345678901" in limits and "DuckDB" in limits
    types = section(doc, "Data type map")
    for field in ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails", "addendum"):
        assert field in types, field
    pyairbyte = section(doc, "Setup guide")
    assert f"pip install 'airbyte-source-aws-cloudtrail=={cargo_version()}'" in pyairbyte and "pip_url=" in pyairbyte
    assert "previous Python connector" in pyairbyte, "PyPI's package of that name is the old one up to 1.x"
    assert 'local_executable="source-aws-cloudtrail"' in pyairbyte


def test_the_migration_guide_covers_fields_columns_types_and_states():
    guide = read("docs", "aws-cloudtrail-migrations.md")
    assert f"## Upgrading to {cargo_version()}" in guide
    # The previous connector's config fields, columns and state forms (shared/reference).
    for name in ("aws_key_id", "aws_secret_key", "aws_region_name", "start_date", "lookup_attributes_filter",
                 "records_limit", "AccessKeyId", "CloudTrailEvent", "EventId", "EventName", "EventSource",
                 "EventTime", "ReadOnly", "Resources", "Username", '{"EventTime": 1623346856.0}',
                 '{"management_events": {"EventTime": 1623346856}}', '"state_version": 2'):
        assert name in guide, name
    for what in ("refresh the source schema", "reset"):
        assert what in guide.lower(), what


def test_the_readme_says_how_to_install_and_warns_about_the_registry():
    readme = read("README.md")
    commands = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [c.split("#")[0].strip() for c in commands] == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    install = section(readme, "Install")
    assert f"pip install 'airbyte-source-aws-cloudtrail=={cargo_version()}'" in install
    assert "previous Python" in install
    assert 'local_executable="source-aws-cloudtrail"' in install and "pip_url=" in install
    assert "registry" in install and "previous" in install and 'get_source("source-aws-cloudtrail")' in install
