"""The newcomer's hour: the README's own commands, run as written, say what they
did with every model, answer where the question was asked, and behave like the
command-line tools people already know."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from .conftest import REPO, Runner, assert_one_line_error

BACKENDS = ("sqlite",)
README = (REPO / "README.md").read_text(encoding="utf-8")


def readme_commands(marker: str) -> list[list[str]]:
    block = README.split(f"<!-- {marker} -->", 1)[1].split(f"<!-- /{marker} -->", 1)[0]
    code = block.split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in code.splitlines() if line.strip()]


def test_the_newcomer_flow_runs_as_the_readme_writes_it(tmp_path, monkeypatch):
    from .tinymodels import build

    monkeypatch.chdir(tmp_path)
    build("llama", tmp_path / "my-model")
    fmcat = Runner()
    outputs = {}
    for argv in readme_commands("newcomer-flow"):
        assert argv[0] == "fmcat"
        result = fmcat(*argv[1:], expect=None)
        assert result.exit_code in (0, 1), (argv, result.stderr)
        outputs[argv[1]] = result
    assert "VERDICT" in outputs["list"].stdout and "conditional" in outputs["list"].stdout
    assert "CONDITIONAL" in outputs["check-license"].stdout
    assert "PASSED" in outputs["verify"].stdout
    assert "passed" in outputs["smoke-test"].stdout
    assert (tmp_path / "fmcat-report.html").exists()


def test_the_readme_first_command_prints_each_models_verdict(tmp_path, monkeypatch):
    first = README.split("```sh", 1)[1].split("```", 1)[0]
    listing = next(part for part in first.split("&&") if " list " in part)
    argv = shlex.split(listing.strip())[1:]  # .venv/bin/fmcat list ...
    fmcat = Runner()
    fmcat("init")
    out = fmcat(*argv).stdout
    header, *rows = [line for line in out.splitlines() if line.strip()]
    assert "VERDICT" in header and "OBLIGATIONS" in header and rows
    assert all(re.search(r"\b(allowed|conditional)\b", row) for row in rows)
    data = fmcat.json(*argv)
    assert data and all(d["verdict"] in ("allowed", "conditional") and "obligation_count" in d for d in data)


# 1: commands that select models say what they did with each -----------------------------


def test_verify_and_sync_of_the_curated_catalog_say_what_they_skipped():
    fmcat = Runner()
    fmcat("init")
    result = fmcat("verify", "--all")
    assert result.exit_code == 0
    assert "models skipped: not pinned to a commit — `fmcat add REPO` pins a Hub model" in result.stderr
    assert "models skipped: hosted model" in result.stderr
    result = fmcat("sync", "--all")
    assert result.exit_code == 0 and "models skipped" in result.stderr
    named = fmcat("sync", "T5", "--json", expect=1)
    assert json.loads(named.stdout) == [{"model": "google-t5/t5-small", "status": "skipped",
                                        "reason": "not pinned to a commit: run `fmcat add google-t5/t5-small` first"}]
    assert json.loads(fmcat("verify", "GPT-4", "--json", expect=1).stdout)[0]["status"] == "skipped"


# 2 and 3: list answers with verdicts, and takes every spelling of a license ------------------


@pytest.mark.parametrize("spelling", ["apache-2.0", "Apache-2.0", "apache license 2.0"])
def test_list_license_accepts_every_spelling(spelling):
    fmcat = Runner()
    fmcat("init")
    names = {r["name"] for r in fmcat.json("list", "--license", spelling)}
    assert "google-t5/t5-small" in names and "meta-llama/Llama-2-7b-hf" not in names
    assert {r["name"] for r in fmcat.json("list", "--license", "llama-2")} == {"meta-llama/Llama-2-7b-hf"}


def test_list_with_use_flags_shows_verdicts_and_obligation_counts():
    fmcat = Runner()
    fmcat("init")
    rows = {r["name"]: r for r in fmcat.json("list", "--distribute")}
    assert rows["meta-llama/Llama-2-7b-hf"]["verdict"] == "conditional"
    assert rows["meta-llama/Llama-2-7b-hf"]["obligation_count"] >= 2
    assert "verdict" not in fmcat.json("list")[0]  # no use given: no verdict claimed


# 4: curated entries stay curated through export and import --------------------------------


def test_export_then_import_keeps_curated_entries_and_reports_unchanged(tmp_path):
    fmcat = Runner()
    fmcat("init")
    path = tmp_path / "catalog.jsonl"
    fmcat("export", "-o", str(path))
    assert "Imported 0 new and 0 changed entries (27 unchanged)." in fmcat("import", str(path)).stdout
    assert "0 user entries left alone" in fmcat("init").stdout
    assert fmcat.json("show", "T5")["origin"] == "curated"


# 5: show tells what a smoke test measured, and each verified file ---------------------------


def test_show_prints_smoke_test_measurements_and_verified_files(tmp_path):
    fmcat = Runner()
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n")
    (folder / "model.safetensors").write_bytes(b"\0" * 8)
    fmcat("add", str(folder))
    fmcat("verify", "m", expect=1)
    from fmcat.db import open_catalog
    from fmcat.settings import db_location
    from fmcat.smoke import SmokeOutcome, record_smoke

    catalog = open_catalog(db_location(None))
    try:
        with catalog.session(write=True) as s, s.begin():
            record_smoke(s, SmokeOutcome(model="m", status="passed", device="cpu", device_name="Test CPU",
                                         dtype="float32", load_seconds=1.25, inference_seconds=0.5,
                                         throughput=16.0, throughput_unit="tokens/s", peak_memory_bytes=300 * 2**20))
    finally:
        catalog.dispose()
    out = fmcat("show", "m").stdout
    assert "device cpu (Test CPU), dtype float32, load 1.25 s, inference 0.50 s, 16.0 tokens/s, peak memory 300 MiB" in out
    assert re.search(r"failed\s+model\.safetensors\s+safetensors header", out)


# 6: the GPU check says which interpreter to use ----------------------------------------------


def test_gpu_check_names_the_interpreter_to_set_when_it_cannot_run(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    proc = subprocess.run([str(REPO / "scripts" / "gpu-check"), "--device", "cpu"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHON=str(fake)), timeout=60)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "set PYTHON" in lines[0] and "Traceback" not in proc.stderr


# 7: the report reads in one order and names what needs attention ------------------------------


def test_report_sections_follow_the_table_and_name_what_needs_attention(tmp_path):
    fmcat = Runner()
    fmcat("init")
    fmcat("report", "-o", str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    names = [m["name"] for m in data["models"]]
    attention = data["summary"]["attention_models"]
    assert names[: len(attention)] == attention and attention
    rest = data["models"][len(attention):]
    assert [(m["display_name"] or m["name"]).lower() for m in rest] == sorted((m["display_name"] or m["name"]).lower()
                                                                             for m in rest)
    fmcat("report", "-o", str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert "need attention:" in html and "license mit·" not in html and "license mit · Meta" not in html
    assert re.search(r"license (<a [^>]*>)?mit(</a>)? · ", html)


# 8: output etiquette ---------------------------------------------------------------------------


def test_a_broken_pipe_ends_quietly(tmp_path):
    env = dict(os.environ, FMCAT_DB=str(tmp_path / "c.db"), FMCAT_HOME=str(tmp_path / "home"))
    subprocess.run([sys.executable, "-m", "fmcat", "init"], env=env, check=True, capture_output=True)
    proc = subprocess.run(f"{shlex.quote(sys.executable)} -m fmcat list | head -1", shell=True, env=env,
                          capture_output=True, text=True, executable="/bin/bash")
    assert proc.stdout.startswith("NAME") and proc.stderr == ""
    piped = subprocess.run(["bash", "-o", "pipefail", "-c", f"{shlex.quote(sys.executable)} -m fmcat list | head -1"],
                           env=env, capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == ""


def test_report_to_stdout_and_format_from_the_extension(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fmcat = Runner()
    fmcat("init")
    result = fmcat("report", "-o", "-", "--format", "json")
    assert json.loads(result.stdout)["summary"]["models"] == 27 and not (tmp_path / "-").exists()
    fmcat("report", "-o", "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["models"] == 27
    fmcat("report", "-o", "bom.cdx.json")
    assert json.loads((tmp_path / "bom.cdx.json").read_text())["bomFormat"] == "CycloneDX"
    fmcat("report", "-o", "r.html")
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    assert_one_line_error(fmcat("report", "-o", "x.pdf", expect=None), "'.pdf'", ".html, .json or .cdx.json")
    assert not (tmp_path / "x.pdf").exists()


# 9: colours on a terminal only; every bad record; waivers naming nothing ------------------------


def test_verdicts_are_coloured_on_a_terminal_only():
    from click.testing import CliRunner

    from fmcat.cli import cli

    runner = CliRunner()
    runner.invoke(cli, ["init"], catch_exceptions=False)
    tty = runner.invoke(cli, ["check-license", "Llama 2", "--train-other-models"], color=True)
    assert "\x1b[" in tty.stdout
    for args, env in ((["--no-color"], {}), ([], {"NO_COLOR": "1"})):
        plain = runner.invoke(cli, [*args, "check-license", "Llama 2", "--train-other-models"], color=True, env=env)
        assert "\x1b[" not in plain.stdout and "PROHIBITED" in plain.stdout
    assert "\x1b[" not in runner.invoke(cli, ["check-license", "Llama 2", "--json"], color=True).stdout
    assert "\x1b[" not in runner.invoke(cli, ["check-license", "Llama 2"]).stdout  # not a terminal


def test_import_reports_every_bad_record(tmp_path):
    fmcat = Runner()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(e) + "\n" for e in (
        {"name": "a/x", "license": "mitt"}, {"name": "a/ok", "license": "mit"}, {"name": "a/z", "access": "weird"},
        {"name": "a/ok", "license": "mit"})))
    result = fmcat("import", str(bad), expect=None)
    assert_one_line_error(result, "3 bad records", "record 1 (a/x): unknown license 'mitt'",
                          "record 3 (a/z): access must be", "'a/ok' appears twice", "nothing was imported")
    assert fmcat.json("list") == []


# 10: several files at once are in test_identify; 11: skips say what to do ------------------------


def test_every_skip_in_the_suite_says_what_to_do():
    for path in (REPO / "tests").glob("test_*.py"):
        for reason in re.findall(r'pytest\.skip\(f?"([^"]+)"', path.read_text()):
            assert len(reason.split()) >= 5, (path.name, reason)
