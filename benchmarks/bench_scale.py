"""The catalog at scale: 100,000 models imported, listed, checked and reported,
on SQLite, each step timed (the 10,000-model figures of the licenses and
report benchmarks are the baselines for how it grows)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench_licenses import generate
from common import Row, fmcat_exe

N = 100_000


def _timed(cmd: list[str], env: dict[str, str], ok=(0,)) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    assert proc.returncode in ok, proc.stderr[-2000:]
    return elapsed


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FMCAT_DB=str(Path(tmp) / "catalog.db"), FMCAT_HOME=tmp)
        data = Path(tmp) / "models.jsonl"
        generate(data, n=N)
        fmcat = fmcat_exe()
        t_import = _timed([fmcat, "import", str(data)], env)
        t_list = _timed([fmcat, "list", "--json"], env)
        t_check = _timed([fmcat, "check-license", "--all", "--json", "--distribute"], env, ok=(0, 1))
        out = Path(tmp) / "report.html"
        t_report = _timed([fmcat, "report", "-o", str(out)], env)
        size = out.stat().st_size / 1e6
    return [
        Row("scale", f"import {N:,} entries", t_import, "s"),
        Row("scale", f"list --json, {N:,} models", t_list, "s"),
        Row("scale", f"check-license --all --json, {N:,} models", t_check, "s"),
        Row("scale", f"report (HTML), {N:,} models", t_report, "s"),
        Row("scale", f"report size, {N:,} models", size, "MB"),
    ]
