"""Verify throughput: `fmcat verify` on a 2 GiB file against `openssl dgst -sha256`
(the whole command counted, warm page cache) and `sha256sum`, and on a 4-file
model of 256 MiB each against `sha256sum` one file after another."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import Row, catalog_env, fmcat_exe, timed

MiB = 1 << 20


def _write(path: Path, size: int) -> None:
    block = b"\0" + os.urandom(4 * MiB - 1)  # not a pickle magic byte
    with path.open("wb") as fh:
        for _ in range(size // len(block)):
            fh.write(block)


def _best(cmd: list[str], env: dict[str, str], repeat: int = 3) -> float:
    return min(timed(cmd, env)[0] for _ in range(repeat))


def run() -> list[Row]:
    if not shutil.which("sha256sum"):
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = catalog_env(tmp)
        fmcat = fmcat_exe()
        one = root / "one"
        one.mkdir()
        _write(one / "weights.bin.part", 2048 * MiB)
        four = root / "four"
        four.mkdir()
        for i in range(4):
            _write(four / f"model-{i:05d}.part", 256 * MiB)
        for folder in (one, four):
            subprocess.run([fmcat, "add", str(folder), "--license", "mit"], env=env, check=True,
                           capture_output=True)
            # warm the page cache for both tools alike
            subprocess.run(["cat", *map(str, folder.iterdir())], stdout=subprocess.DEVNULL, check=True)

        t_sum_one = _best(["sha256sum", str(one / "weights.bin.part")], env)
        t_ssl_one = _best(["openssl", "dgst", "-sha256", str(one / "weights.bin.part")], env) \
            if shutil.which("openssl") else None
        t_fm_one = _best([fmcat, "verify", "one", "--json"], env)
        files = sorted(str(p) for p in four.iterdir())
        t_sum_four = _best(["sh", "-c", " && ".join(f"sha256sum {f} >/dev/null" for f in files)], env)
        t_fm_four = _best([fmcat, "verify", "four", "--json"], env)
    gib = 2048 * MiB / (1 << 30)
    thr_fm, thr_sum = gib / t_fm_one, gib / t_sum_one
    if t_ssl_one:
        thr_ssl = gib / t_ssl_one
        rows.append(Row("verify", "2 GiB file: fmcat verify throughput (whole command)", thr_fm, "GiB/s",
                        "openssl dgst -sha256", thr_ssl, ">= 0.9x openssl", thr_fm >= 0.9 * thr_ssl))
    rows.append(Row("verify", "2 GiB file: fmcat verify throughput (whole command)", thr_fm, "GiB/s",
                    "sha256sum", thr_sum, ">= 0.9x sha256sum", thr_fm >= 0.9 * thr_sum))
    rows.append(Row("verify", "4 x 256 MiB model: fmcat verify wall time", t_fm_four, "s",
                    "sha256sum one after another", t_sum_four, "faster than sha256sum (< 1.0x)",
                    t_fm_four < t_sum_four))
    return rows
