"""`fmcat scan` of a generated tree of 50,000 files (Python modules, most without
any model, some loading models through constants; configs, notebooks, shell
scripts), against `grep -r from_pretrained` over the same tree; and of the
installed transformers package (large real files with many documented examples)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import Row, catalog_env, fmcat_exe, timed

N_FILES = 50_000
TARGET_FILES_PER_S = 2000

PLAIN = '''"""Utilities for part {i}."""

import os
import json


def helper_{i}(path, retries=3):
    """Read a JSON file, retrying on transient errors."""
    for attempt in range(retries):
        try:
            with open(path) as fh:
                return json.load(fh)
        except OSError:
            if attempt == retries - 1:
                raise
    return None


class Record{i}:
    def __init__(self, name, value):
        self.name = name
        self.value = value

    def to_dict(self):
        return {{"name": self.name, "value": self.value}}
'''

LOADER = '''from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

from .settings_{i} import MODEL

BASE = "acme-{i}/model-" + "base"


def load(name=f"acme-{i}/tuned"):
    tok = AutoTokenizer.from_pretrained(MODEL)
    model = AutoModelForCausalLM.from_pretrained(name)
    return pipeline("text-generation", model=BASE), tok, model
'''

SETTINGS = 'MODEL = "acme-{i}/model"\nTIMEOUT = 30\n'
CONFIG = "model:\n  model_name_or_path: acme-{i}/config-model\ntrainer:\n  epochs: 3\n  lr: 0.0001\n"
SHELL = "#!/bin/sh\nset -e\nhf download acme-{i}/weights --revision main\necho done\n"


def generate(root: Path, n: int = N_FILES) -> int:
    """Write ``n`` files under ``root``; return how many."""
    written = 0
    per_dir = 500
    i = 0
    while written < n:
        d = root / f"pkg{i // per_dir:03d}"
        d.mkdir(parents=True, exist_ok=True)
        kind = i % 20
        if kind < 14:
            (d / f"util_{i}.py").write_text(PLAIN.format(i=i))
        elif kind < 16:
            (d / f"loader_{i}.py").write_text(LOADER.format(i=i))
            (d / f"settings_{i}.py").write_text(SETTINGS.format(i=i))
            written += 1
        elif kind < 18:
            (d / f"train_{i}.yaml").write_text(CONFIG.format(i=i))
        elif kind < 19:
            (d / f"fetch_{i}.sh").write_text(SHELL.format(i=i))
        else:
            (d / f"data_{i}.json").write_text(json.dumps({"rows": list(range(20)), "name": f"d{i}"}))
        written += 1
        i += 1
    return written


def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = catalog_env(tmp)
        fmcat = fmcat_exe()
        subprocess.run([fmcat, "init"], env=env, check=True, capture_output=True)
        tree = Path(tmp) / "tree"
        files = generate(tree)
        subprocess.run(["grep", "-r", "-q", "from_pretrained", str(tree)], check=False)  # warm the page cache
        t0 = time.perf_counter()
        subprocess.run(["grep", "-r", "-c", "from_pretrained", str(tree)], capture_output=True, check=False)
        t_grep = time.perf_counter() - t0
        out = Path(tmp) / "scan.json"
        t_scan, _ = timed([fmcat, "scan", str(tree), "--format", "json", "-o", str(out)], env, ok=(0, 1))
        found = json.loads(out.read_text())
        refs = sum(len(f["locations"]) for f in found)
        rate = files / t_scan
        rows.append(Row("scan", f"fmcat scan, generated tree of {files:,} files ({refs:,} references), files/s",
                        rate, "files/s", "grep -r from_pretrained", files / t_grep,
                        f">= {TARGET_FILES_PER_S} files/s", rate >= TARGET_FILES_PER_S))
        rows.append(Row("scan", f"fmcat scan wall time, {files:,} files", t_scan, "s",
                        "grep -r from_pretrained", t_grep))
        shutil.rmtree(tree)
        try:
            import transformers

            root = Path(transformers.__file__).parent
            t_tf, proc = timed([fmcat, "scan", str(root), "--format", "json", "-o", str(out)], env, ok=(0, 1))
            n_py = sum(1 for _ in root.rglob("*.py"))
            hub = sum(1 for f in json.loads(out.read_text()) if f["kind"] == "hub")
            rows.append(Row("scan", f"fmcat scan transformers ({n_py:,} .py files, {hub} Hub models found)",
                            t_tf, "s"))
        except ImportError:
            pass
    return rows
