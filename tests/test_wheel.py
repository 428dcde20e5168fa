"""The wheel carries catalog/ and migrations/: built, installed into a fresh
virtual environment and run from an unrelated directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


def test_wheel_installs_and_runs_from_anywhere(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=REPO, check=True, capture_output=True,
    )
    (wheel,) = dist.glob("fmcat-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "fmcat/_data/catalog/models.yaml" in names
    assert "fmcat/_data/catalog/licenses.yaml" in names
    assert "fmcat/_data/migrations/env.py" in names
    assert any(n.startswith("fmcat/_data/migrations/versions/0001") for n in names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
         "--quiet", str(wheel)],
        check=True, capture_output=True,
    )
    # fmcat's dependencies come from this environment's site-packages as a plain
    # path entry: its .pth files (this checkout's editable install) are not read.
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FMCAT_") and k != "PYTHONPATH"}
    env["FMCAT_HOME"] = str(tmp_path / "home")
    fmcat = str(env_dir / "bin" / "fmcat")

    where = subprocess.run([str(py), "-c", "import fmcat; print(fmcat.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(env_dir)), where

    init = subprocess.run([fmcat, "init", "--json"], cwd=work, env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["added"] >= 27
    current = subprocess.run([fmcat, "db", "current", "--json"], cwd=work, env=env,
                             capture_output=True, text=True)
    assert current.returncode == 0, current.stderr
    state = json.loads(current.stdout)
    assert state["up_to_date"] is True
    assert state["catalog"] == str(tmp_path / "home" / "catalog.db")
