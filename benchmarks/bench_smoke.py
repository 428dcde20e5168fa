"""Smoke-test overhead: `fmcat smoke-test` of the tiny Llama, and of ten tiny
Llamas in one command, against a minimal hand-written transformers script that
loads the same files and generates the same tokens in one process (its own
imports counted), in the same run."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from common import Row, catalog_env, fmcat_exe, timed

ROOT = Path(__file__).resolve().parent.parent

HAND = """
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
for path in {paths!r}:
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, use_safetensors=True).eval()
    with torch.inference_mode():
        inputs = tok("Hello, my name is", return_tensors="pt")
        ids = model.generate(**inputs, max_new_tokens=8, min_new_tokens=8, do_sample=False,
                             pad_token_id=tok.pad_token_id)
    print(ids.shape)
"""
TARGET = 1.3


def run() -> list[Row]:
    try:
        import torch  # noqa: F401
    except ImportError:
        return []
    sys.path.insert(0, str(ROOT))
    from tests.tinymodels import build

    with tempfile.TemporaryDirectory() as tmp:
        env = catalog_env(tmp, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", FMCAT_DISABLE_PROGRESS_BARS="1")
        import shutil

        folder = build("llama", Path(tmp) / "tiny-llama")
        folders = [folder]
        for i in range(1, 10):  # ten models: copies under their own names
            folders.append(Path(shutil.copytree(folder, Path(tmp) / f"tiny-llama-{i}")))
        fmcat = fmcat_exe()
        subprocess.run([fmcat, "add", *map(str, folders)], env=env, check=True, capture_output=True)
        one, ten = Path(tmp) / "hand1.py", Path(tmp) / "hand10.py"
        one.write_text(HAND.format(paths=[str(folder)]))
        ten.write_text(HAND.format(paths=[str(f) for f in folders]))
        names = [f.name for f in folders]
        hand, ours, hand10, ours10 = [], [], [], []
        for _ in range(3):  # interleaved, best of three each
            hand.append(timed([sys.executable, str(one)], env)[0])
            ours.append(timed([fmcat, "smoke-test", "tiny-llama", "--device", "cpu"], env)[0])
            hand10.append(timed([sys.executable, str(ten)], env)[0])
            ours10.append(timed([fmcat, "smoke-test", *names, "--device", "cpu"], env)[0])
    rows = []
    for label, mine, theirs in (("tiny Llama", ours, hand), ("ten tiny Llamas in one command", ours10, hand10)):
        t_hand, t_ours = min(theirs), min(mine)
        rows.append(Row("smoke", f"fmcat smoke-test, {label} on CPU (best of 3)", t_ours, "s",
                        "hand-written script, one process", t_hand, f"<= {TARGET}x", t_ours <= TARGET * t_hand))
    return rows
