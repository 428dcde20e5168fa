"""`fmcat pull` of a 92 MB model from a loopback hub (olah, as the tests run it)
against `hf download` of the same pinned revision from the same server, each into
an empty Hub cache, interleaved, best of three."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import Row, catalog_env, fmcat_exe, timed

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.1
MiB = 1 << 20


def run() -> list[Row]:
    sys.path.insert(0, str(ROOT))
    from tests.hubfixture import TestHub, card

    hf = Path(sys.executable).parent / "hf"
    if not hf.exists():
        return [Row("pull", "skipped: the hf command (huggingface_hub) is not installed", 0, "")]
    with tempfile.TemporaryDirectory() as tmp:
        hub = TestHub(Path(tmp) / "hub").start()
        try:
            files = {"README.md": card({"license": "apache-2.0"}), "config.json": b'{"model_type": "llama"}'}
            for i in range(2):  # two weight shards, 46 MB each
                files[f"model-{i:05d}-of-00002.safetensors"] = os.urandom(46 * MiB)
            sha = hub.commit("acme/pull-bench", files)
            env = catalog_env(tmp, HF_ENDPOINT=hub.endpoint, HF_HUB_DISABLE_TELEMETRY="1",
                              FMCAT_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
            fmcat = fmcat_exe()
            subprocess.run([fmcat, "add", "acme/pull-bench"], env=env, check=True, capture_output=True)
            ours, theirs = [], []
            for i in range(3):
                ours.append(timed([fmcat, "pull", "acme/pull-bench"],
                                  dict(env, HF_HOME=str(Path(tmp) / f"fm{i}")))[0])
                theirs.append(timed([str(hf), "download", "acme/pull-bench", "--revision", sha],
                                    dict(env, HF_HOME=str(Path(tmp) / f"hf{i}")))[0])
        finally:
            hub.stop()
    t_ours, t_theirs = min(ours), min(theirs)
    return [Row("pull", "fmcat pull of a 92 MB model, loopback hub (best of 3)", t_ours, "s",
                "hf download", t_theirs, f"<= {TARGET}x", t_ours <= TARGET * t_theirs)]
