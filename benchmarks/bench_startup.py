"""Command-line start-up and one-model answers on the curated SQLite catalog,
against the cost of starting Python and importing click, measured in the same run."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import Row, fmcat_exe, median_wall

ANSWER_TARGET = 3.0  # one-model answers within 3x `python -c "import click"`


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"FMCAT_DB": str(Path(tmp) / "catalog.db"), "FMCAT_HOME": tmp}
        fmcat = fmcat_exe()
        median_wall([fmcat, "init"], repeat=1, env=env)
        baseline = median_wall([sys.executable, "-c", "import click"], repeat=11)
        help_time = median_wall([fmcat, "--help"], env=env)
        rows = [Row("startup", "fmcat --help (median of 7)", help_time, "s",
                    "python -c 'import click'", baseline, "<= 2x baseline", help_time / baseline <= 2.0)]
        for label, args in (
            ('check-license "Llama 2"', ["check-license", "Llama 2"]),
            ('show "Llama 2"', ["show", "Llama 2"]),
            ("licenses llama2", ["licenses", "llama2"]),
            ("list (27 curated models)", ["list"]),
        ):
            t = median_wall([fmcat, *args], env=env, repeat=11)
            rows.append(Row("startup", f"fmcat {label} (median of 11)", t, "s", "python -c 'import click'",
                            baseline, f"<= {ANSWER_TARGET:g}x baseline", t / baseline <= ANSWER_TARGET))
        list_json = median_wall([fmcat, "list", "--json"], env=env)
        rows.append(Row("startup", "fmcat list --json, curated catalog (median of 7)", list_json, "s",
                        "python -c 'import click'", baseline, "", None))
    return rows
