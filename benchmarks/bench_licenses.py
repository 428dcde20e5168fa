"""License checks at scale: a catalog of 10,000 generated models loaded with
`fmcat import`, then `fmcat check-license --all --json` over all of it; and
license-text identification: one file per process, and 100 files in one call."""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

from common import Row, catalog_env, fmcat_exe, median_wall, timed

N = 10_000
LICENSES = ["apache-2.0", "mit", "llama2", "llama3", "llama3.1", "creativeml-openrail-m", "openrail++",
            "bigscience-bloom-rail-1.0", "gemma", "cc-by-nc-4.0", "falcon-180b-tii-license-1.0",
            "provider-terms", "llama3.2", "qwen", "stabilityai-community", "flux-1-dev-non-commercial",
            "deepseek", "gpl-3.0", "cc-by-nc-nd-4.0", "openrail", None]


def generate(path: Path, n: int = N, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w") as fh:
        for i in range(n):
            entry = {"name": f"org{i % 97}/model-{i:06d}", "provider": f"org{i % 97}",
                     "license": rng.choice(LICENSES), "task": "text-generation"}
            if entry["license"] is None:
                del entry["license"]
            if i % 10 == 0 and i:
                entry["base_model"] = f"org{(i - 1) % 97}/model-{i - 1:06d}"
            fh.write(json.dumps(entry) + "\n")


def imported_catalog(tmp: str, n: int = N) -> tuple[dict[str, str], float]:
    """A catalog of ``n`` generated models in ``tmp``: its environment and the import's seconds."""
    env = catalog_env(tmp)
    data = Path(tmp) / "models.jsonl"
    generate(data, n=n)
    t_import, _ = timed([fmcat_exe(), "import", str(data)], env)
    return env, t_import


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        env, t_import = imported_catalog(tmp)
        fmcat = fmcat_exe()
        t_check, proc = timed([fmcat, "check-license", "--all", "--json", "--mau", "1000000", "--distribute"], env,
                              ok=(0, 1))
        decisions = json.loads(proc.stdout)
        assert len(decisions) == N
        t_help, _ = timed([fmcat, "--help"], env)
        texts = sorted((Path(__file__).resolve().parent.parent / "catalog" / "texts").glob("*.txt"))
        files = [str(texts[i % len(texts)]) for i in range(100)]
        cold_home = Path(tmp) / "cold"
        t_cold, _ = timed([fmcat, "licenses", "--identify", files[0]], dict(env, FMCAT_HOME=str(cold_home)))
        t_one = median_wall([fmcat, "licenses", "--identify", files[0]], env=env)
        t_hundred = median_wall([fmcat, "licenses", "--identify", *files], env=env, repeat=3)
        t_click = median_wall([sys.executable, "-c", "import click"])
    return [
        Row("licenses", "fmcat licenses --identify FILE (cold: index built)", t_cold, "s",
            "python -c 'import click'", t_click),
        Row("licenses", "fmcat licenses --identify FILE (index cached)", t_one, "s",
            "python -c 'import click'", t_click, "<= 0.3 s", t_one <= 0.3),
        Row("licenses", "fmcat licenses --identify, 100 files in one call", t_hundred, "s",
            "python -c 'import click'", t_click, "<= 3 s", t_hundred <= 3.0),
        Row("licenses", f"fmcat import of {N:,} entries (JSON lines)", t_import, "s"),
        Row("licenses", f"fmcat check-license --all --json, {N:,} models", t_check, "s",
            "fmcat --help", t_help, "< 3 s", t_check < 3.0),
    ]
