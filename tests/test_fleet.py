"""Smoke tests spread over devices and over a real Ray cluster on loopback.

The clusters are real (`ray start --head` plus worker node processes, see
``raycluster.py``); every connection their processes and fmcat open is watched
and must stay on loopback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .tinymodels import build, tiny_gguf

pytest.importorskip("torch", reason="smoke tests need the models extra")

BACKENDS = ("sqlite",)


def _models(root: Path, n_gguf: int, *, transformers_model: bool = True) -> list[Path]:
    folders = []
    for i in range(n_gguf):
        folder = root / f"gguf-{i}"
        folder.mkdir(parents=True)
        tiny_gguf(folder / f"m{i}-Q8_0.gguf", license_id="apache-2.0")
        folders.append(folder)
    if transformers_model:
        folders.append(build("gpt2", root / "tiny-gpt2"))
    return folders


def _env(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FMCAT_", "HF_"))}
    env.update(FMCAT_DB=str(tmp_path / "catalog.db"), FMCAT_HOME=str(tmp_path / "home"),
               HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1", FMCAT_DISABLE_PROGRESS_BARS="1", **(extra or {}))
    return env


def _fmcat(env: dict[str, str], *args: str, expect: int | None = 0, timeout: float = 600):
    proc = subprocess.run([sys.executable, "-m", "fmcat", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    if expect is not None:
        assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _add_all(env: dict[str, str], folders: list[Path]) -> list[str]:
    _fmcat(env, "add", *map(str, folders))
    return [f.name for f in folders]


def test_devices_run_models_in_parallel_one_child_per_device(tmp_path):
    env = _env(tmp_path)
    names = _add_all(env, _models(tmp_path / "models", 3, transformers_model=False))
    out = json.loads(_fmcat(env, "smoke-test", *names, "--devices", "cpu,cpu", "--json").stdout)
    assert [o["model"] for o in out] == names and all(o["status"] == "passed" for o in out), out
    spans = [(o["started_at"], o["finished_at"]) for o in out]
    overlapping = any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1:])
    assert overlapping, f"no two models ran at the same time: {spans}"
    recorded = sqlite3.connect(tmp_path / "catalog.db").execute("select count(*) from smoke_tests").fetchone()[0]
    assert recorded == 3


def test_devices_are_validated(tmp_path):
    env = _env(tmp_path)
    proc = _fmcat(env, "smoke-test", "--all", "--devices", "gpu0", expect=2)
    assert "is not a device" in proc.stderr
    proc = _fmcat(env, "smoke-test", "--all", "--devices", "cpu", "--ray", "127.0.0.2:1", expect=2)
    assert "give one" in proc.stderr


# --- Ray -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'fmcat[ray]')")
    from .raycluster import RayCluster

    cluster = RayCluster(head_cpus=1)
    try:
        cluster.start()
        cluster.add_worker("w1", "127.0.0.3", cpus=1)
        cluster.wait_nodes(2)
        yield cluster
    finally:
        cluster.stop()


class OutboundWatch:
    """Polls the TCP connections of the given process sessions; any peer that is not a
    loopback address is collected."""

    def __init__(self, sessions: callable) -> None:  # type: ignore[valid-type]
        self.sessions = sessions
        self.outside: set[str] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "OutboundWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        from .raycluster import session_pids

        while not self._stop.is_set():
            pids = set()
            for sid in self.sessions():
                pids |= session_pids(sid)
            try:
                lines = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, timeout=5).stdout
            except (OSError, subprocess.TimeoutExpired):
                return
            self.samples += 1
            for line in lines.splitlines():
                fields = line.split()
                if len(fields) < 5 or not any(f"pid={p}," in line for p in pids):
                    continue
                peer = fields[4].rsplit(":", 1)[0].strip("[]")
                if not (peer.startswith("127.") or peer in ("::1", "*") or peer.startswith("::ffff:127.")):
                    self.outside.add(f"{peer} ({line.split('users:')[-1][:80]})")
            time.sleep(0.2)


def test_ray_runs_each_model_on_a_node_and_the_driver_records_it(ray_cluster, tmp_path):
    env = _env(tmp_path, ray_cluster.settings())
    names = _add_all(env, _models(tmp_path / "models", 2))
    proc = subprocess.Popen([sys.executable, "-m", "fmcat", "smoke-test", *names, "--device", "cpu",
                             "--ray", ray_cluster.address, "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    with OutboundWatch(lambda: [*ray_cluster.sessions(), proc.pid]) as watch:
        stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    out = json.loads(stdout)  # one clean document: no "(raylet) ..." lines on stdout
    assert [o["model"] for o in out] == names
    assert all(o["status"] == "passed" for o in out), out
    nodes = {o["node"].split("@")[1] for o in out}
    assert nodes <= {"127.0.0.2", "127.0.0.3"}, nodes
    for o in out:
        shown = json.loads(_fmcat(env, "show", o["model"], "--json").stdout)
        assert shown["smoke_tests"][-1]["detail"]["node"] == o["node"]
    if watch.samples:
        assert not watch.outside, f"connections off loopback: {sorted(watch.outside)}"


def test_a_worker_node_killed_mid_run_is_recorded_and_the_rest_go_on(tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'fmcat[ray]')")
    from .raycluster import RayCluster, session_pids

    env = _env(tmp_path)
    names = _add_all(env, _models(tmp_path / "models", 3))
    cluster = RayCluster(head_cpus=0)  # every task must run on a worker node
    try:
        cluster.start()
        cluster.add_worker("doomed", "127.0.0.3", cpus=1)
        cluster.wait_nodes(2)
        env.update(cluster.settings())
        proc = subprocess.Popen([sys.executable, "-m", "fmcat", "smoke-test", *names, "--device", "cpu",
                                 "--ray", cluster.address, "--json"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        doomed = cluster.nodes["doomed"].pid
        deadline = time.time() + 120
        while time.time() < deadline:  # kill the node once a model's task runs there
            titles = [_cmdline(pid) for pid in session_pids(doomed)]
            if any("_smoke_task" in t for t in titles):
                break
            time.sleep(0.1)
        else:
            pytest.fail("no task started on the worker node")
        cluster.kill("doomed")
        cluster.add_worker("rescue", "127.0.0.4", cpus=1)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        cluster.stop()
    out = json.loads(stdout)
    assert sorted(o["model"] for o in out) == sorted(names), stderr[-2000:]
    rows = sqlite3.connect(tmp_path / "catalog.db").execute("select status, node from smoke_tests").fetchall()
    assert len(rows) == len(names)  # each model recorded once, nothing half-done
    for o in out:
        if o["status"] == "passed":
            assert o["node"].endswith("@127.0.0.4"), o  # retried or run on the node that was left
        else:
            assert o["status"] == "failed" and "infrastructure failure" in o["reason"], o
    assert sum(o["status"] == "passed" for o in out) >= 2, out
    assert proc.returncode in (0, 1)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
