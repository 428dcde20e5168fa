"""The read path without SQLAlchemy (`check-license NAME`, `list`, `show` on SQLite)
answers exactly as the ORM path does, and steps aside whenever it cannot."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fmcat import fastread
from fmcat.checks import check_licenses
from fmcat.db import open_catalog
from fmcat.decide import Use
from fmcat.policy import load_policy

BACKENDS = ("sqlite",)

EXTRA = [
    {"name": "acme/llama-ft", "license": "llama2", "base_model": "META-LLAMA/llama-2-7b-hf"},
    {"name": "acme/merge", "license": "apache-2.0", "base_model": ["acme/llama-ft", "hf://tiiuae/falcon-7b@main"]},
    {"name": "acme/orphan", "license": "mit", "base_model": "nobody/not-in-catalog"},
    {"name": "acme/by-url", "license": "mit",
     "base_model": "https://huggingface.co/google-t5/t5-small/tree/main"},
    {"name": "acme/cycle-a", "license": "mit", "base_model": "acme/cycle-b"},
    {"name": "acme/cycle-b", "license": "mit", "base_model": "acme/cycle-a"},
    {"name": "acme/nc", "license": "cc-by-nc-4.0", "display_name": "Shared Name"},
    {"name": "acme/nc-2", "license": "cc-by-nc-4.0", "display_name": "Shared Name"},
]

POLICY = """
[use]
commercial = true
serve = true

[rules]
allow-categories = ["open-source", "custom"]
deny-licenses = ["cc-by-nc-4.0"]
require-verified = true

[[waivers]]
model = "ACME/ORPHAN"
verdict = "allowed"
reason = "checked by hand"
approver = "legal@example.com"
expires = 2099-01-01

[[waivers]]
model = "acme/gone"
verdict = "allowed"
reason = "typo"
approver = "legal@example.com"
expires = 2099-01-01
"""

USES = [Use(), Use(commercial=False), Use(mau=800_000_000, distribute=True, modify=True, serve=True),
        Use(train_other_models=True, domains=("military",))]


@pytest.fixture
def catalog(initialised, tmp_path):
    initialised("import", "-", input="".join(json.dumps(e) + "\n" for e in EXTRA))
    location = str(tmp_path / "catalog.db")
    cat = open_catalog(location)
    with cat.session(write=True) as s, s.begin():  # a verification and a smoke test on record
        from fmcat.smoke import SmokeOutcome, record_smoke
        from fmcat.verify import FileCheck, VerifyResult
        from fmcat.weights import record_verification

        now = dt.datetime(2026, 11, 28, 10, 0, 0, 123456)
        record_verification(s, VerifyResult("acme/llama-ft", "passed", "2 files match", None, now, now,
                                            (FileCheck("a.safetensors", "ok"),)))
        record_smoke(s, SmokeOutcome("acme/llama-ft", "failed", reason="boom", device="cpu", versions={"x": 1},
                                     output_check={"ok": False}, trust_remote_code=True, node="n1@127.0.0.2",
                                     load_seconds=0.5, started_at=now, finished_at=now))
    yield location, cat
    cat.dispose()


def _names(cat) -> list[str]:
    from sqlalchemy import select

    from fmcat.models import Model

    with cat.session() as s:
        return list(s.scalars(select(Model.name).order_by(Model.name)))


def _full_check(cat, refs, use, policy):
    with cat.session() as s:
        return check_licenses(s, refs, use, policy)


def _same(fast, full) -> None:
    assert fast is not None
    assert [d.to_dict() for d in fast.decisions] == [d.to_dict() for d in full.decisions]
    assert [w.model for w in fast.unmatched_waivers] == [w.model for w in full.unmatched_waivers]
    assert fast.policy == full.policy


def test_check_license_of_each_model_matches_the_orm_path(catalog, tmp_path):
    location, cat = catalog
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY)
    policy = load_policy(policy_file)
    for use in USES:
        for pol in (None, policy):
            for name in _names(cat):
                _same(fastread.check_names(location, [name], use, pol), _full_check(cat, [name], use, pol))
            every = fastread.list_rows(location, category=None, license=None, use=use, policy=pol)[1]
            _same(every, _full_check(cat, None, use, pol))


def test_names_are_found_as_find_model_finds_them(catalog):
    location, cat = catalog
    for ref in ("Llama 2", "llama 2", "META-LLAMA/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", " acme/merge "):
        _same(fastread.check_names(location, [ref], Use(), None), _full_check(cat, [ref], Use(), None))
    # the same model twice is decided once, as the full path does
    _same(fastread.check_names(location, ["Llama 2", "meta-llama/Llama-2-7b-hf"], Use(), None),
          _full_check(cat, ["Llama 2", "meta-llama/Llama-2-7b-hf"], Use(), None))
    # what the fast path cannot answer alone goes to the full path (and its error messages)
    assert fastread.check_names(location, ["no/such-model"], Use(), None) is None
    assert fastread.check_names(location, ["shared name"], Use(), None) is None  # ambiguous
    assert fastread.check_names(location, [""], Use(), None) is None


def test_list_and_show_match_the_orm_path(catalog):
    from fmcat.catalog import list_models, model_detail

    location, cat = catalog
    for category, lic in ((None, None), ("custom", None), (None, "Apache-2.0"), (None, "cc-by-nc-4.0"),
                          (None, "not-a-license")):
        rows, _ = fastread.list_rows(location, category=category, license=lic)
        with cat.session() as s:
            assert rows == list_models(s, category=category, license=lic)
    for name in _names(cat):
        with cat.session() as s:
            full = model_detail(s, name).to_dict()
        assert fastread.detail(location, name).to_dict() == full
        assert json.dumps(fastread.detail(location, name).to_dict()) == json.dumps(full)  # key order too


def test_run_columns_follow_the_schema():
    from fmcat.models import SmokeTest, Verification

    skip = {"id", "model_id", "started_at", "finished_at", "status"}
    assert fastread.VERIFICATION_DETAIL == tuple(c.key for c in Verification.__table__.columns if c.key not in skip)
    assert fastread.SMOKE_DETAIL == tuple(c.key for c in SmokeTest.__table__.columns if c.key not in skip)


def test_the_fast_path_steps_aside(tmp_path, initialised):
    assert fastread.connect(str(tmp_path / "missing.db")) is None
    assert fastread.connect("postgresql+psycopg://u@127.0.0.1/x") is None
    assert fastread.connect(f"sqlite:///{tmp_path / 'catalog.db'}?timeout=5") is None
    assert fastread.connect(f"sqlite:///{tmp_path / 'catalog.db'}") is not None
    import sqlite3

    conn = sqlite3.connect(tmp_path / "catalog.db")
    conn.execute("UPDATE alembic_version SET version_num = '0003'")  # an older schema: the full path upgrades
    conn.commit()
    conn.close()
    assert fastread.connect(str(tmp_path / "catalog.db")) is None


def test_one_model_answers_never_import_the_orm(initialised, tmp_path):
    code = ("import sys\nfrom fmcat.cli import cli\n"
            "for args in (['check-license', 'Llama 2'], ['show', 'Llama 2'], ['list'], ['licenses', 'llama2'],"
            " ['list', '--verdict', 'allowed']):\n"
            "    try:\n        cli(args, standalone_mode=False)\n    except SystemExit:\n        pass\n"
            "print('LOADED', sorted(m for m in ('sqlalchemy', 'alembic', 'yaml') if m in sys.modules))")
    import os

    # the first run compiles licenses.yaml into the cache (and so imports yaml); the next ones read the cache
    subprocess.run([sys.executable, "-m", "fmcat", "licenses", "llama2"], env=dict(os.environ), capture_output=True,
                   timeout=120, check=True)
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "LOADED []", proc.stdout[-500:]


def test_cli_answers_are_the_same_either_way(initialised, tmp_path, monkeypatch):
    fast = initialised("check-license", "Llama 2", "--mau", "900000000", "--json", expect=1).stdout
    shown = initialised("show", "Llama 2", "--json").stdout
    listed = initialised("list", "--verdict", "conditional", "--serve").stdout
    monkeypatch.setattr(fastread, "connect", lambda location: None)  # every command takes the full path
    assert initialised("check-license", "Llama 2", "--mau", "900000000", "--json", expect=1).stdout == fast
    assert initialised("show", "Llama 2", "--json").stdout == shown
    assert initialised("list", "--verdict", "conditional", "--serve").stdout == listed
    assert Path(tmp_path / "catalog.db").exists()


def test_streamed_outputs_match_the_orm_path_on_2000_models(fmcat, tmp_path, monkeypatch):
    import random

    rng = random.Random(3)
    licenses = ["apache-2.0", "mit", "llama2", "llama3.1", "cc-by-nc-4.0", "gemma", "openrail", "qwen", None]
    entries = []
    for i in range(2000):
        e = {"name": f"org{i % 37}/model-{i:05d}", "license": rng.choice(licenses), "task": "text-generation",
             "repo_id": f"Org{i % 37}/Model-{i:05d}" if i % 3 == 0 else None}
        if i % 7 == 0 and i:
            e["base_model"] = rng.choice([f"ORG{(i - 1) % 37}/model-{i - 1:05d}", "nobody/missing",
                                          f"hf://Org{(i - 3) % 37}/Model-{i - 3:05d}@main"])
        entries.append({k: v for k, v in e.items() if v is not None})
    fmcat("import", "-", input="".join(json.dumps(e) + "\n" for e in entries))
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    runs = [("check-license", "--all", "--json"), ("check-license", "--all", "--json", "--policy", str(policy)),
            ("check-license", "--all", "--json", "--mau", "900000000", "--modify"), ("list", "--json"),
            ("list", "--json", "--verdict", "conditional", "--serve"),
            ("export", "--format", "jsonl"), ("export", "--format", "json"), ("export", "--format", "yaml")]
    reports = [("report", "-o", "-", "--format", fmt, *extra) for fmt in ("json", "cyclonedx")
               for extra in ((), ("--policy", str(policy)))]
    streamed = [fmcat(*args, expect=None) for args in runs + reports]
    monkeypatch.setattr(fastread, "connect", lambda location: None)  # the ORM path, as before streaming
    for args, fast in zip(runs + reports, streamed):
        full = fmcat(*args, expect=None)
        assert (fast.exit_code, _stable(fast.stdout), fast.stderr) == \
            (full.exit_code, _stable(full.stdout), full.stderr), args
        if args[0] == "report":
            assert fast.stdout.count("\n") == full.stdout.count("\n") > 2000


def _stable(text: str) -> str:
    """A report's text without what differs between any two runs: its time and BOM serial number."""
    import re

    text = re.sub(r'"(generated_at|timestamp)": "[^"]*"', r'"\1": "-"', text)
    return re.sub(r'"serialNumber": "urn:uuid:[^"]*"', '"serialNumber": "-"', text)


def test_export_streams_the_same_text_as_before(initialised, tmp_path, monkeypatch):
    from .tinymodels import tiny_gguf

    folder = tmp_path / "gguf-model"
    folder.mkdir()
    tiny_gguf(folder / "m-Q8_0.gguf", license_id="apache-2.0")
    (folder / "README.md").write_text("---\nlicense: apache-2.0\ndatasets: [a, b]\n---\n")
    initialised("add", str(folder))
    initialised("import", "-", input="".join(json.dumps(e) + "\n" for e in EXTRA))
    runs = [("export", "--format", fmt) for fmt in ("jsonl", "json", "yaml")] + [("export", "--json")]
    streamed = [initialised(*args).stdout for args in runs]
    files = {}
    for suffix in ("jsonl", "json", "yaml"):
        initialised("export", "-o", str(tmp_path / f"fast.{suffix}"))
        files[suffix] = (tmp_path / f"fast.{suffix}").read_text()
    with monkeypatch.context() as patched:  # (not monkeypatch.undo(): that would undo the test's own catalog too)
        patched.setattr(fastread, "connect", lambda location: None)
        for args, text in zip(runs, streamed):
            assert initialised(*args).stdout == text, args
        for suffix, text in files.items():
            initialised("export", "-o", str(tmp_path / f"full.{suffix}"))
            assert (tmp_path / f"full.{suffix}").read_text() == text, suffix
    # and what was exported imports back unchanged, into this test's catalog
    result = initialised("import", str(tmp_path / "fast.yaml"))
    assert result.stdout == "Imported 0 new and 0 changed entries (36 unchanged).\n"
    assert initialised("export", "--format", "yaml").stdout == files["yaml"]


def test_an_empty_catalog_exports_as_before(fmcat, tmp_path, monkeypatch):
    fmcat("list", "--json")  # creates the catalog
    streamed = [fmcat("export", "--format", fmt).stdout for fmt in ("jsonl", "json", "yaml")]
    monkeypatch.setattr(fastread, "connect", lambda location: None)
    assert [fmcat("export", "--format", fmt).stdout for fmt in ("jsonl", "json", "yaml")] == streamed


def test_pull_and_verify_plans_match_the_orm_path(catalog, tmp_path):
    from fmcat.weights import plan

    location, cat = catalog
    with cat.session() as s:
        full = plan(s, None)
    assert fastread.plans(location, None) == full
    for p in full:
        with cat.session() as s:
            assert fastread.plans(location, [p.name]) == plan(s, [p.name])
    assert fastread.plans(location, ["no/such-model"]) is None


def test_list_json_written_by_sqlite_escapes_as_python_does(initialised, tmp_path, monkeypatch):
    """`list --json` items are made by SQLite's json_quote: the same bytes as Python's
    encoder for quotes, backslashes, every control character, DEL, non-ASCII and the
    Unicode line separators (import refuses control characters; another writer may not)."""
    import sqlite3

    odd = "".join(chr(c) for c in range(1, 32)) + '\x7f "quoted" back\\slash é 日本 \u2028\u2029 😀 \ud7ff'
    entries = [{"name": f"odd/model-{i}", "license": "mit"} for i in range(0, 40, 3)]
    initialised("import", "-", input="".join(json.dumps(e) + "\n" for e in entries))
    with sqlite3.connect(tmp_path / "catalog.db") as db:
        for i in range(0, 40, 3):
            db.execute("UPDATE models SET display_name = ?, provider = ?, task = ?, architecture = ?, repo_id = ? "
                       "WHERE name = ?", (odd[i:] + "end", odd[:i] or "p", odd[i::3], f"Arch{odd[-i:]}",
                                          "" if i % 2 else None, f"odd/model-{i}"))
    runs = [("list", "--json"), ("list", "--json", "--license", "mit"), ("list", "--json", "--category", "custom"),
            ("list", "--json", "--license", "no-such-license")]
    fast = [initialised(*args).stdout for args in runs]
    assert any(chr(1) in row.get("display_name", "") for row in json.loads(fast[0]))  # the odd strings are there
    assert json.loads(fast[3]) == [] and fast[3] == "[]\n"
    monkeypatch.setattr(fastread, "list_json", lambda *a, **k: None)  # the Python encoder, as before
    assert [initialised(*args).stdout for args in runs] == fast
    monkeypatch.setattr(fastread, "connect", lambda location: None)  # and the ORM path
    assert [initialised(*args).stdout for args in runs] == fast
