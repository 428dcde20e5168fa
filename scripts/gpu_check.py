"""Build the tiny fixture models, register them as local folders, run
`fmcat smoke-test --all` on CUDA, and print a table. Exit 1 if any failed."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--timeout", default="120")
    args = parser.parse_args()

    import torch

    from tests.tinymodels import TINY, build

    if args.device != "cpu" and not torch.cuda.is_available():
        print("gpu-check: CUDA is not available here (--device cpu for a dry run)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FMCAT_HOME=tmp, FMCAT_DB=str(Path(tmp) / "catalog.db"), HF_HOME=str(Path(tmp) / "hf"),
                   HF_HUB_OFFLINE="1", FMCAT_DISABLE_PROGRESS_BARS="1")
        fmcat = [sys.executable, "-m", "fmcat"]
        for kind in TINY:
            folder = build(kind, Path(tmp) / "models" / kind)
            subprocess.run([*fmcat, "add", str(folder), "--name", f"tiny/{kind}"], env=env, check=True,
                           capture_output=True)
        built = time.perf_counter() - t0
        proc = subprocess.run([*fmcat, "smoke-test", "--all", "--device", args.device, "--dtype", args.dtype,
                               "--timeout", args.timeout, "--json"], env=env, capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        runs = json.loads(proc.stdout)
    total = time.perf_counter() - t0
    where = torch.cuda.get_device_name(0) if args.device != "cpu" else "CPU dry run"
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {where}")
    header = f"{'model':<24}{'status':<8}{'kind':<15}{'dtype':<10}{'load s':>8}{'infer s':>9}{'throughput':>20}{'peak MiB':>10}"
    print(header)
    print("-" * len(header))
    for r in runs:
        thr = f"{r['throughput']:.1f} {r['throughput_unit']}" if r.get("throughput") else "-"
        peak = f"{r['peak_memory_bytes'] / 2**20:.1f}" if r.get("peak_memory_bytes") else "-"
        print(f"{r['model']:<24}{r['status']:<8}{(r.get('kind') or '-'):<15}{(r.get('dtype') or '-'):<10}"
              f"{r.get('load_seconds') or 0:>8.2f}{r.get('inference_seconds') or 0:>9.3f}{thr:>20}{peak:>10}")
        if r.get("reason"):
            print(f"    {r['reason']}")
    passed = sum(r["status"] == "passed" for r in runs)
    print(f"{passed} of {len(runs)} passed; models built in {built:.1f} s; whole check {total:.1f} s")
    return 0 if passed == len(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
