"""The catalog at scale: 100,000 models imported, listed, checked and reported,
on SQLite, each step timed (the 10,000-model figures of the licenses and
report benchmarks are the baselines for how it grows)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench_licenses import imported_catalog
from common import Row, fmcat_exe, timed

N = 100_000


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        env, t_import = imported_catalog(tmp, N)
        fmcat = fmcat_exe()
        t_list, _ = timed([fmcat, "list", "--json"], env)
        t_check, _ = timed([fmcat, "check-license", "--all", "--json", "--distribute"], env, ok=(0, 1))
        out = Path(tmp) / "report.html"
        t_report, _ = timed([fmcat, "report", "-o", str(out)], env)
        size = out.stat().st_size / 1e6
    return [
        Row("scale", f"import {N:,} entries", t_import, "s"),
        Row("scale", f"list --json, {N:,} models", t_list, "s"),
        Row("scale", f"check-license --all --json, {N:,} models", t_check, "s"),
        Row("scale", f"report (HTML), {N:,} models", t_report, "s"),
        Row("scale", f"report size, {N:,} models", size, "MB"),
    ]
