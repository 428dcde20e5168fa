"""License checks at scale: a catalog of 10,000 generated models loaded with
`fmcat import`, then `fmcat check-license --all --json` over all of it."""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from common import Row, catalog_env, fmcat_exe, timed

N = 10_000
LICENSES = ["apache-2.0", "mit", "llama2", "llama3", "llama3.1", "creativeml-openrail-m", "openrail++",
            "bigscience-bloom-rail-1.0", "gemma", "cc-by-nc-4.0", "falcon-180b-tii-license-1.0",
            "provider-terms", None]


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
    return [
        Row("licenses", f"fmcat import of {N:,} entries (JSON lines)", t_import, "s"),
        Row("licenses", f"fmcat check-license --all --json, {N:,} models", t_check, "s",
            "fmcat --help", t_help, "< 3 s", t_check < 3.0),
    ]
