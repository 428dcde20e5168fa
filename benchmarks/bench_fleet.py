"""Smoke tests of eight tiny models: the plain local run (one after another, one
fork server) against the same models through `--ray` on a local two-node Ray
cluster on loopback (started before timing), and through `--devices cpu,cpu`.
Printed: wall times, and what Ray adds per model."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Row, catalog_env

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = 8
TARGET_OVERHEAD_S = 0.5


def _fmcat(env: dict[str, str], *args: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "fmcat", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    if "--json" in args:
        assert all(o["status"] == "passed" for o in json.loads(proc.stdout)), proc.stdout[-2000:]
    return elapsed


def run() -> list[Row]:
    try:
        import ray  # noqa: F401
    except ImportError:
        return [Row("fleet", "skipped: the ray extra is not installed", 0, "")]
    from tests.raycluster import RayCluster
    from tests.tinymodels import tiny_gguf

    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for i in range(N):
            folder = Path(tmp) / f"tiny-{i}"
            folder.mkdir()
            tiny_gguf(folder / f"m{i}-Q8_0.gguf", license_id="apache-2.0")
            names.append(folder.name)
        cluster = RayCluster(head_cpus=1)
        try:
            cluster.start()
            cluster.add_worker("w1", "127.0.0.3", cpus=1)
            cluster.wait_nodes(2)
            env = catalog_env(tmp, HF_HOME=str(Path(tmp) / "hf"), HF_HUB_OFFLINE="1", **cluster.settings())
            subprocess.run([sys.executable, "-m", "fmcat", "add", *[str(Path(tmp) / n) for n in names]],
                           env=env, check=True, capture_output=True)
            local = _fmcat(env, "smoke-test", *names, "--device", "cpu", "--json")
            _fmcat(env, "smoke-test", *names, "--device", "cpu", "--ray", cluster.address, "--json")  # warm caches
            on_ray = _fmcat(env, "smoke-test", *names, "--device", "cpu", "--ray", cluster.address, "--json")
            devices = _fmcat(env, "smoke-test", *names, "--devices", "cpu,cpu", "--json")
        finally:
            cluster.stop()
    overhead = (on_ray - local) / N
    return [
        Row("fleet", f"smoke-test of {N} tiny GGUF models, local run", local, "s"),
        Row("fleet", "the same through --ray (2 nodes x 1 CPU, cluster started before timing)", on_ray, "s", "local run", local),
        Row("fleet", "what --ray adds per model", overhead, "s", "", None, f"<= {TARGET_OVERHEAD_S} s",
            overhead <= TARGET_OVERHEAD_S),
        Row("fleet", "the same with --devices cpu,cpu", devices, "s", "local run", local),
    ]
