"""Faults: fmcat killed (SIGKILL) in the middle of its work leaves a catalog
that opens, holds no half-written entry and claims no result that did not
complete; the next run completes the work."""

from __future__ import annotations

BACKENDS = ("sqlite",)  # about SQLite files; PostgreSQL has its own tests in test_postgres.py

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fmcat.db import SCHEMA_HEAD, SCHEMA_REVISIONS


def fmcat_env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, FMCAT_DB=str(tmp_path / "catalog.db"), FMCAT_HOME=str(tmp_path / "home"),
                HF_HOME=str(tmp_path / "hf"), FMCAT_DISABLE_PROGRESS_BARS="1")


def run(env, *args, check=True):
    proc = subprocess.run([sys.executable, "-m", "fmcat", *args], env=env, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def kill_when(cmd: list[str], env: dict[str, str], ready, timeout: float = 60) -> bool:
    """Start fmcat, SIGKILL it once ``ready()`` is true; False if it finished first."""
    proc = subprocess.Popen([sys.executable, "-m", "fmcat", *cmd], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and proc.poll() is None:
            if ready():
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
                return True
            time.sleep(0.01)
        return False
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def count(db: Path, table: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_kill_during_import_leaves_no_half_import(tmp_path):
    env = fmcat_env(tmp_path)
    big = tmp_path / "big.jsonl"
    with big.open("w") as fh:
        for i in range(60_000):
            fh.write(json.dumps({"name": f"org/m-{i:06d}", "license": "mit", "files": [
                {"path": "model.safetensors", "size": i, "sha256": f"{i:064x}"}]}) + "\n")
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps({"name": "org/kept", "license": "apache-2.0"}) + "\n")
    run(env, "import", str(first))
    wal = Path(env["FMCAT_DB"] + "-wal")
    killed = kill_when(["import", str(big)], env, lambda: wal.exists() and wal.stat().st_size > 1_000_000)
    if not killed:
        pytest.skip("the import finished before it could be interrupted on this machine")
    # the catalog opens; the interrupted import left nothing behind
    rows = json.loads(run(env, "list", "--json").stdout)
    assert [r["name"] for r in rows] == ["org/kept"]
    assert count(Path(env["FMCAT_DB"]), "model_files") == 0
    run(env, "import", str(big))
    assert count(Path(env["FMCAT_DB"]), "models") == 60_001


def test_kill_during_verify_records_nothing(tmp_path):
    env = fmcat_env(tmp_path)
    folder = tmp_path / "weights"
    folder.mkdir()
    with (folder / "big.bin.part").open("wb") as fh:
        block = b"\0" * (8 << 20)
        for _ in range(96):
            fh.write(block)
    run(env, "add", str(folder), "--license", "mit")
    started = time.time()
    killed = kill_when(["verify", "weights"], env, lambda: time.time() - started > 1.0)
    if not killed:
        pytest.skip("verify finished before it could be interrupted on this machine")
    d = json.loads(run(env, "show", "weights", "--json").stdout)
    assert d["verifications"] == []
    assert json.loads(run(env, "verify", "weights", "--json").stdout)[0]["status"] == "passed"


def test_kill_during_schema_upgrade_leaves_the_old_catalog(tmp_path):
    from alembic import command

    from fmcat.db import alembic_config, resolve_url

    env = fmcat_env(tmp_path)
    db = Path(env["FMCAT_DB"])
    data = tmp_path / "many.jsonl"
    with data.open("w") as fh:
        for i in range(40_000):
            fh.write(json.dumps({"name": f"org/u-{i:06d}", "license": "llama2", "card": {"x": "y" * 200}}) + "\n")
    run(env, "import", str(data))
    previous = SCHEMA_REVISIONS[-2]
    command.downgrade(alembic_config(url=resolve_url(str(db))), previous)
    killed = kill_when(["list", "--json"], env,
                       lambda: any(p.stat().st_size > 0 for p in db.parent.glob(f"{db.name}.bak-*")))
    if not killed:
        pytest.skip("the upgrade finished before it could be interrupted on this machine")
    con = sqlite3.connect(db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == previous
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    rows = json.loads(run(env, "list", "--json").stdout)  # the next run completes the upgrade
    assert len(rows) == 40_000
    con = sqlite3.connect(db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_HEAD
    con.close()


def test_recording_for_a_model_removed_meanwhile_fails_cleanly(fmcat, db_path):
    import datetime as dt

    from fmcat.db import open_catalog
    from fmcat.errors import ModelNotFound
    from fmcat.verify import VerifyResult
    from fmcat.weights import record_verification

    fmcat("import", "-", input=json.dumps({"name": "acme/gone", "license": "mit"}) + "\n")
    fmcat("remove", "acme/gone")
    now = dt.datetime(2026, 1, 1)
    result = VerifyResult("acme/gone", "passed", "ok", None, now, now)
    catalog = open_catalog(str(db_path))
    with pytest.raises(ModelNotFound, match="removed from the catalog"):
        with catalog.session(write=True) as s, s.begin():
            record_verification(s, result)
    catalog.dispose()
    assert count(db_path, "verifications") == 0
