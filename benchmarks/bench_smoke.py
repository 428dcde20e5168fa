"""Smoke-test overhead: `fmcat smoke-test` of the tiny Llama against a minimal
hand-written transformers script that loads the same files and generates the
same tokens (the script's own imports counted), in the same run."""

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
path = {path!r}
tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, use_safetensors=True).eval()
with torch.inference_mode():
    inputs = tok("Hello, my name is", return_tensors="pt")
    ids = model.generate(**inputs, max_new_tokens=8, min_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
print(ids.shape)
"""


def run() -> list[Row]:
    try:
        import torch  # noqa: F401
    except ImportError:
        return []
    sys.path.insert(0, str(ROOT))
    from tests.tinymodels import build

    with tempfile.TemporaryDirectory() as tmp:
        env = catalog_env(tmp, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", FMCAT_DISABLE_PROGRESS_BARS="1")
        folder = build("llama", Path(tmp) / "tiny-llama")
        fmcat = fmcat_exe()
        subprocess.run([fmcat, "add", str(folder), "--name", "tiny/llama"], env=env, check=True, capture_output=True)
        script = Path(tmp) / "hand.py"
        script.write_text(HAND.format(path=str(folder)))
        hand, ours = [], []
        for _ in range(3):  # interleaved, best of three each
            hand.append(timed([sys.executable, str(script)], env)[0])
            ours.append(timed([fmcat, "smoke-test", "tiny/llama", "--device", "cpu"], env)[0])
    t_hand, t_ours = min(hand), min(ours)
    return [Row("smoke", "fmcat smoke-test, tiny Llama on CPU (best of 3)", t_ours, "s",
                "hand-written transformers script", t_hand, "<= 1.5x", t_ours <= 1.5 * t_hand)]
