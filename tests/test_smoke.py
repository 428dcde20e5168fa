"""smoke-test: every tiny fixture model goes add -> pull -> verify -> run through
the hub fixture; failures of every kind are recorded and the run goes on."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="smoke tests need the models extra (torch, transformers, diffusers)")
pytest.importorskip("transformers", reason="smoke tests need the models extra")
pytest.importorskip("diffusers", reason="smoke tests need the models extra")

from .tinymodels import TINY, build  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    for kind in TINY:
        build(kind, root / kind)
    return root


@pytest.fixture(scope="session")
def tiny_repos(hub_server, tiny_dir) -> dict[str, str]:
    repos = {}
    suffix = uuid.uuid4().hex[:6]
    for kind in TINY:
        folder = tiny_dir / kind
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        repo_id = f"tiny/{kind}-{suffix}"
        hub_server.commit(repo_id, files, f"tiny {kind}")
        repos[kind] = repo_id
    return repos


def test_every_fixture_model_passes_on_cpu_through_the_hub(cli, tiny_repos):
    cli("add", *tiny_repos.values())
    runs = cli.json("smoke-test", "--all", "--device", "cpu", timeout=900)
    by_name = {r["model"]: r for r in runs}
    for kind, repo_id in tiny_repos.items():
        r = by_name[repo_id]
        assert r["status"] == "passed", (kind, r)
        assert r["device"] == "cpu" and r["dtype"] == "float32" and r["device_name"]
        assert r["versions"]["torch"] and r["versions"]["transformers"]
        assert 0 < r["load_seconds"] < 120 and 0 < r["inference_seconds"] < 120
        assert r["throughput"] > 0 and r["throughput_unit"] in ("tokens/s", "steps/s", "sequences/s", "audio-s/s")
        assert r["peak_memory_bytes"] > 10 * 2**20
        assert r["output_check"]["ok"] is True and len(r["output_digest"]) == 64
    kinds = {by_name[r]["kind"] for r in tiny_repos.values()}
    assert kinds == {"causal-lm", "seq2seq", "masked-lm", "text-to-image", "text-to-audio"}
    assert by_name[tiny_repos["stable-diffusion"]]["versions"]["diffusers"]
    # the record: verification and smoke history in `show`
    d = cli.json("show", tiny_repos["llama"])
    assert d["verifications"][-1]["status"] == "passed"
    st = d["smoke_tests"][-1]
    assert st["status"] == "passed" and st["detail"]["device"] == "cpu" and st["detail"]["output_digest"]


def test_api_only_models_are_skipped(cli):
    cli("init")
    # named explicitly and then skipped: exit 1, with the reason for each
    runs = {r["model"]: r for r in cli.json("smoke-test", "GPT-4", "Claude 2", "--device", "cpu", expect=1)}
    assert {r["status"] for r in runs.values()} == {"skipped"}
    assert "no weights" in runs["openai/gpt-4"]["reason"]


def _copy(tiny_dir: Path, kind: str, dest: Path) -> Path:
    shutil.copytree(tiny_dir / kind, dest)
    return dest


def test_failures_are_recorded_and_the_rest_still_pass(cli, tiny_dir, tmp_path):
    good = _copy(tiny_dir, "gpt2", tmp_path / "good")
    broken = _copy(tiny_dir, "gpt2", tmp_path / "broken")
    config = json.loads((broken / "config.json").read_text())
    config["model_type"] = "no-such-architecture"
    (broken / "config.json").write_text(json.dumps(config))
    sleepy = _copy(tiny_dir, "gpt2", tmp_path / "sleepy")
    config = json.loads((sleepy / "config.json").read_text())
    config.update(model_type="sleepy", architectures=["SleepyForCausalLM"],
                  auto_map={"AutoConfig": "configuration_sleepy.SleepyConfig",
                            "AutoModelForCausalLM": "configuration_sleepy.SleepyForCausalLM"})
    (sleepy / "config.json").write_text(json.dumps(config))
    (sleepy / "configuration_sleepy.py").write_text("import time\ntime.sleep(3600)\n")
    altered = _copy(tiny_dir, "gpt2", tmp_path / "altered")
    for name, folder in (("t/good", good), ("t/broken", broken), ("t/sleepy", sleepy), ("t/altered", altered)):
        cli("add", str(folder), "--name", name)
    weights = altered / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))

    proc = cli("smoke-test", "t/good", "t/broken", "t/sleepy", "t/altered", "--device", "cpu",
               "--trust-remote-code", "--timeout", "20", "--json", expect=1, timeout=600)
    runs = {r["model"]: r for r in json.loads(proc.stdout)}
    assert runs["t/good"]["status"] == "passed"
    assert runs["t/broken"]["status"] == "failed" and "no-such-architecture" in runs["t/broken"]["reason"]
    assert runs["t/sleepy"]["status"] == "failed" and "timed out after 20 s" in runs["t/sleepy"]["reason"]
    assert runs["t/sleepy"]["trust_remote_code"] is True
    assert runs["t/altered"]["status"] == "failed" and "verification failed" in runs["t/altered"]["reason"]
    assert "model.safetensors" in runs["t/altered"]["reason"]
    history = cli.json("show", "t/sleepy")["smoke_tests"]
    assert history[-1]["status"] == "failed" and history[-1]["detail"]["trust_remote_code"] is True


def test_repository_code_is_refused_without_the_flag(cli, tiny_dir, tmp_path):
    sleepy = _copy(tiny_dir, "gpt2", tmp_path / "coded")
    config = json.loads((sleepy / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}
    (sleepy / "config.json").write_text(json.dumps(config))
    (sleepy / "modeling_x.py").write_text("raise SystemExit('must never run')\n")
    cli("add", str(sleepy), "--name", "t/coded")
    proc = cli("smoke-test", "t/coded", "--device", "cpu", expect=1)
    assert "--trust-remote-code" in proc.stdout and "refused" in proc.stdout
    run = cli.json("show", "t/coded")["smoke_tests"][-1]
    assert run["status"] == "failed" and run["detail"]["trust_remote_code"] is False


def test_gpu_without_cuda_exits_2_and_records_nothing(cli, tiny_dir, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the refusal of --gpu without CUDA is tested on machines without it")
    cli("add", str(_copy(tiny_dir, "gpt2", tmp_path / "m")), "--name", "t/m")
    before = cli("export").stdout
    proc = cli("smoke-test", "t/m", "--gpu", expect=2)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "CUDA is not available" in lines[0]
    assert cli.json("show", "t/m")["smoke_tests"] == [] and cli("export").stdout == before


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="no CUDA device on this machine")
def test_fixture_models_on_cuda(cli, tiny_repos):
    cli("add", *tiny_repos.values())
    runs = cli.json("smoke-test", *tiny_repos.values(), "--gpu", timeout=900)
    assert all(r["status"] == "passed" and r["device"] == "cuda" for r in runs), runs


def _forkserver_of(pid: int) -> bool:
    """Whether process ``pid`` has started its multiprocessing fork server."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"forkserver" in cmdline:
            return True
    return False


def test_smoke_test_killed_midway_records_no_result(cli, tiny_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    cli("add", str(_copy(tiny_dir, "llama", tmp_path / "k")), "--name", "t/k")
    proc = subprocess.Popen([sys.executable, "-m", "fmcat", "smoke-test", "t/k", "--device", "cpu"], env=cli.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not _forkserver_of(proc.pid):  # once it exists, it is importing torch: seconds before any result
        assert proc.poll() is None and time.monotonic() < deadline, "no fork server was started"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert cli.json("show", "t/k")["smoke_tests"] == []
    runs = cli.json("smoke-test", "t/k", "--device", "cpu", timeout=300)
    assert runs[0]["status"] == "passed"


class _Planted:
    """A pickle whose loading would create a file: what a child running repository code
    could send its parent instead of a result."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.path, "w"))


def test_a_childs_result_is_read_as_json_and_never_unpickled(tmp_path):
    import multiprocessing as mp

    from fmcat.smoke import _read_result

    marker = tmp_path / "unpickled"
    recv, send = mp.Pipe(duplex=False)
    send.send(_Planted(str(marker)))
    out = _read_result(recv)
    assert out is not None and out["ok"] is False and "refused" in out["error"]
    assert not marker.exists()
    send.send_bytes(b'["ok", true]')  # JSON, but not a result
    assert _read_result(recv)["ok"] is False
    send.send_bytes(json.dumps({"ok": True, "load_seconds": 0.5}).encode())
    assert _read_result(recv) == {"ok": True, "load_seconds": 0.5}
    send.close()
    assert _read_result(recv) is None  # nothing sent: the exit code tells the story


def test_the_cli_process_never_imports_torch_for_a_smoke_test(cli, tiny_dir, tmp_path):
    """The child's result holds only plain values (rebuilding a torch type would import
    torch into fmcat's own process: a second, and most of one more to tear it down at
    exit), and with no --device a model's process says whether CUDA is there."""
    import subprocess
    import sys

    import torch

    cli("add", str(_copy(tiny_dir, "llama", tmp_path / "p")), "--name", "t/p")
    code = ("import sys\nfrom fmcat.cli import main\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    status = exc.code\n"
            "print('torch imported:', 'torch' in sys.modules, 'status:', status)\n")
    proc = subprocess.run([sys.executable, "-c", code, "smoke-test", "t/p", "--json"],
                          env=cli.env, capture_output=True, text=True, timeout=300)
    runs = json.loads(proc.stdout[:proc.stdout.rindex("torch imported:")])
    assert runs[0]["status"] == "passed" and runs[0]["versions"]["torch"]
    assert runs[0]["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert proc.stdout.rstrip().endswith("torch imported: False status: 0"), proc.stdout[-300:]


def test_the_fork_server_is_warmed_for_the_architectures_to_run():
    """warm() imports the modeling module of each architecture transformers exports, skips
    anything else without failing, and leaves versions as plain strings."""
    import subprocess
    import sys

    code = ("import sys\nfrom fmcat.smoke_runner import warm, versions\n"
            "warm(['LlamaForCausalLM', 'NotAModelForCausalLM', '__import__(\"os\")', 'os.system'])\n"
            "print(all(type(v) is str for v in versions().values() if v is not None),\n"
            "      'transformers.models.llama.modeling_llama' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "True"]
