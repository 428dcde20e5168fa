#!/usr/bin/env python3
"""Run every fmcat benchmark and print a table of figures, each beside the
baseline measured in the same run.

    python benchmarks/run.py            # all benchmarks
    python benchmarks/run.py startup    # just some
    python benchmarks/run.py scale --models 1000000   # the catalog at a million models

Each benchmark module exposes ``run() -> list[Row]``; targets are printed with
the ratio so a reader sees at once whether they hold. Nothing here is asserted
by the test suite: timings belong in benchmarks, not unit tests.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, print_table  # noqa: E402

BENCHMARKS = ["startup", "licenses", "verify", "pull", "report", "smoke", "scale", "scan", "fleet"]


def main(argv: list[str]) -> int:
    import os

    if "--models" in argv:  # the scale benchmark's catalog size: --models 1000000
        at = argv.index("--models")
        os.environ["FMCAT_BENCH_MODELS"] = str(int(argv[at + 1]))
        argv = argv[:at] + argv[at + 2:]
    names = argv or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    for name in names:
        module = importlib.import_module(f"bench_{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        sys.stdout.flush()
        rows.extend(module.run())
    print_table(rows)
    return 1 if any(r.met is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
