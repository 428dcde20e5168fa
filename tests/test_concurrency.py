"""Many writers on one catalog: 8 processes x 50 `fmcat add --api-only`, all
started before the catalog exists. Nothing is lost, no error reaches a user."""

from __future__ import annotations

BACKENDS = ("sqlite",)  # about SQLite files; PostgreSQL has its own tests in test_postgres.py

import json
import os
import subprocess
import sys

WORKER = r"""
import io, json, sys
from contextlib import redirect_stderr
from fmcat.cli import cli
worker, count = int(sys.argv[1]), int(sys.argv[2])
failures = []
for i in range(count):
    err = io.StringIO()
    with redirect_stderr(err):
        try:
            cli.main(["add", "--api-only", "--provider", f"p{worker}", f"w{worker}/model-{i:03d}"],
                     prog_name="fmcat", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    if code != 0 or err.getvalue().strip():
        failures.append([i, code, err.getvalue()])
print(json.dumps(failures))
"""


def run_writers(env: dict[str, str], processes: int = 8, each: int = 50) -> list:
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(w), str(each)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(processes)]
    failures = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        failures += json.loads(out.strip().splitlines()[-1])
    return failures


def test_eight_processes_fifty_adds_each_on_sqlite(tmp_path, fmcat):
    env = dict(os.environ, FMCAT_DB=str(tmp_path / "shared.db"))
    failures = run_writers(env)
    assert failures == []
    rows = json.loads(subprocess.run([sys.executable, "-m", "fmcat", "list", "--json"], env=env,
                                     capture_output=True, text=True, check=True).stdout)
    assert len(rows) == 400
    assert len({r["name"] for r in rows}) == 400
