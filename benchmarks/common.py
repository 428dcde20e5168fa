"""Shared helpers for fmcat's benchmarks."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class Row:
    benchmark: str
    measure: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline_value:
            return self.value / self.baseline_value
        return None


def fmcat_exe() -> str:
    exe = BIN / "fmcat"
    return str(exe) if exe.exists() else "fmcat"


def median_wall(cmd: list[str], *, repeat: int = 7, env: dict[str, str] | None = None) -> float:
    """Median wall seconds of running ``cmd`` (one warm-up run first)."""
    full_env = dict(os.environ, **(env or {}))
    subprocess.run(cmd, env=full_env, check=False, capture_output=True)  # `check-license` may exit 1
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=full_env, check=False, capture_output=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{cmd} exited {proc.returncode}: {proc.stderr[-500:]!r}")
    return statistics.median(times)


def catalog_env(tmp: str | Path, **extra: str) -> dict[str, str]:
    """The environment for fmcat on a fresh catalog inside ``tmp``."""
    return dict(os.environ, FMCAT_DB=str(Path(tmp) / "catalog.db"), FMCAT_HOME=str(tmp), **extra)


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, subprocess.CompletedProcess]:
    """Wall seconds of one run of ``cmd``, which must exit with one of ``ok``."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    assert proc.returncode in ok, proc.stderr[-2000:]
    return elapsed, proc


def print_table(rows: list[Row]) -> None:
    headers = ["benchmark", "measure", "value", "baseline", "ratio", "target", "met"]
    table = []
    for r in rows:
        table.append([
            r.benchmark,
            r.measure,
            f"{r.value:.3f} {r.unit}",
            f"{r.baseline} {r.baseline_value:.3f} {r.unit}" if r.baseline_value is not None else r.baseline,
            f"{r.ratio:.2f}x" if r.ratio is not None else "",
            r.target,
            {True: "yes", False: "NO", None: ""}[r.met],
        ])
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
