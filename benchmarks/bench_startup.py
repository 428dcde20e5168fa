"""Command-line start-up: `fmcat --help` and `fmcat list --json` against the
cost of starting Python and importing click, measured in the same run."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import Row, fmcat_exe, median_wall


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"FMCAT_DB": str(Path(tmp) / "catalog.db"), "FMCAT_HOME": tmp}
        fmcat = fmcat_exe()
        median_wall([fmcat, "init"], repeat=1, env=env)
        baseline = median_wall([sys.executable, "-c", "import click"])
        help_time = median_wall([fmcat, "--help"], env=env)
        list_time = median_wall([fmcat, "list", "--json"], env=env)
    ratio = help_time / baseline
    return [
        Row("startup", "fmcat --help (median of 7)", help_time, "s",
            "python -c 'import click'", baseline, "<= 2x baseline", ratio <= 2.0),
        Row("startup", "fmcat list --json, curated catalog (median of 7)", list_time, "s",
            "python -c 'import click'", baseline, "", None),
    ]
