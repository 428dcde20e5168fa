"""add / pull / verify / sync against a real hub server (olah) on loopback,
with fmcat run in its own process as a user runs it."""

from __future__ import annotations

import json
import os
import pickle
import uuid
from pathlib import Path

import pytest

from .conftest import REPO
from .hubfixture import card, safetensors_bytes

LLAMA2_TEXT = (REPO / "catalog" / "texts" / "llama2.txt").read_bytes()
APACHE_TEXT = (REPO / "catalog" / "texts" / "apache-2.0.txt").read_bytes()


def tiny_llama_files(license_id: str = "llama2") -> dict[str, bytes]:
    return {
        "README.md": card({"license": license_id, "base_model": "meta-llama/Llama-2-7b-hf",
                           "pipeline_tag": "text-generation", "library_name": "transformers",
                           "datasets": ["acme/chat-data"]}),
        "config.json": json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}).encode(),
        "model.safetensors": safetensors_bytes({"embed": ("F32", [64, 16]), "head": ("F16", [16, 64])}),
        "tokenizer.json": b'{"version": "1.0"}',
        "LICENSE": LLAMA2_TEXT,
    }


@pytest.fixture
def repo_id() -> str:
    return f"acme/tiny-llama-{uuid.uuid4().hex[:8]}"


def assert_one_line(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n.lower() in lines[0].lower(), lines[0]


def cache_file(cli, repo_id: str, sha: str, path: str) -> Path:
    return Path(cli.env["HF_HOME"]) / "hub" / f"models--{repo_id.replace('/', '--')}" / "snapshots" / sha / path


def test_add_pull_verify_show(cli, hub_server, repo_id):
    sha = hub_server.commit(repo_id, tiny_llama_files(), "tiny llama")
    added = cli.json("add", repo_id)
    assert added[0]["revision"] == sha and added[0]["license"] == "llama2" and added[0]["category"] == "custom"

    d = cli.json("show", repo_id)
    assert d["revision"] == sha and d["source"] == "hub" and d["repo_id"] == repo_id
    assert d["license"] == "llama2" and d["category"] == "custom"
    assert d["base_models"] == ["meta-llama/Llama-2-7b-hf"] and d["datasets"] == ["acme/chat-data"]
    assert d["task"] == "text-generation" and d["architecture"] == "LlamaForCausalLM"
    files = {f["path"]: f for f in d["files"]}
    assert set(files) == {"README.md", "config.json", "model.safetensors", "tokenizer.json", "LICENSE"}
    assert files["model.safetensors"]["lfs"] and len(files["model.safetensors"]["sha256"]) == 64
    assert all(len(f["blob_id"]) == 40 for f in files.values())
    assert {(e["source"], e["license"]) for e in d["license_evidence"]} >= {("card", "llama2"), ("license-file", "llama2")}
    assert d["license_text_sha256"] and len(d["license_text_sha256"]) == 64

    cli("pull", repo_id)
    assert cache_file(cli, repo_id, sha, "model.safetensors").exists()
    result = cli.json("verify", repo_id)
    assert result[0]["status"] == "passed", result
    out = cli("show", repo_id).stdout
    assert "verifications:" in out and "passed" in out and sha[:12] in out


def test_altered_file_fails_verify_and_a_fresh_pull_restores_it(cli, hub_server, repo_id):
    sha = hub_server.commit(repo_id, tiny_llama_files())
    cli("add", repo_id)
    cli("pull", repo_id)
    target = cache_file(cli, repo_id, sha, "model.safetensors").resolve()
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))

    proc = cli("verify", repo_id, expect=1)
    assert "model.safetensors" in proc.stdout and "sha256" in proc.stdout
    runs = cli.json("show", repo_id)["verifications"]
    assert runs[-1]["status"] == "failed" and "model.safetensors" in runs[-1]["detail"]["summary"]

    cli("pull", repo_id)
    assert cli.json("verify", repo_id)[0]["status"] == "passed"


class _Marker:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_pickle_that_runs_code_is_flagged_and_never_executed(cli, hub_server, repo_id, tmp_path):
    marker = tmp_path / "PWNED"
    payload = pickle.dumps({"weight": _Marker(str(marker))}, protocol=2)
    hub_server.commit(repo_id, {
        "README.md": card({"license": "mit"}),
        "config.json": b'{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}',
        "pytorch_model.bin": payload,
    })
    cli("add", repo_id)
    cli("pull", repo_id)
    proc = cli("verify", repo_id, expect=1)
    assert "unsafe" in proc.stdout and "pytorch_model.bin" in proc.stdout and "system" in proc.stdout
    assert not marker.exists()
    d = cli.json("show", repo_id)
    assert d["verifications"][-1]["status"] == "failed"
    assert any(f["status"] == "unsafe" for f in d["verifications"][-1]["detail"]["files"])
    assert not marker.exists()


def test_safetensors_preferred_when_both_formats_exist(cli, hub_server, repo_id):
    files = tiny_llama_files()
    files["pytorch_model.bin"] = pickle.dumps({"w": [1, 2, 3]})
    sha = hub_server.commit(repo_id, files)
    cli("add", repo_id)
    pulled = cli.json("pull", repo_id)
    assert pulled[0]["skipped_files"] == ["pytorch_model.bin"]
    assert not cache_file(cli, repo_id, sha, "pytorch_model.bin").exists()
    result = cli.json("verify", repo_id)[0]
    assert result["status"] == "passed"
    assert {f["path"]: f["status"] for f in result["files"]}["pytorch_model.bin"] == "skipped"


def test_interrupted_download_resumes_and_verifies(cli, hub_server, repo_id):
    """What a killed `fmcat pull` leaves behind — a partial ``.incomplete`` blob in
    the hub cache and no snapshot entry — is completed by the next pull."""
    sha = hub_server.commit(repo_id, tiny_llama_files())
    cli("add", repo_id)
    info = {f["path"]: f for f in cli.json("show", repo_id)["files"]}["model.safetensors"]
    blobs = Path(cli.env["HF_HOME"]) / "hub" / f"models--{repo_id.replace('/', '--')}" / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    full = tiny_llama_files()["model.safetensors"]
    (blobs / f"{info['sha256']}.incomplete").write_bytes(full[: len(full) // 2])

    runs_before = cli.json("show", repo_id)["verifications"]
    assert runs_before == []  # nothing claims the file verified
    assert cli("verify", repo_id, expect=1).returncode == 1  # not on disk yet
    cli("pull", repo_id)
    assert cache_file(cli, repo_id, sha, "model.safetensors").read_bytes() == full
    assert cli.json("verify", repo_id)[0]["status"] == "passed"


def test_sync_reports_a_license_change_and_update_moves_the_pin(cli, hub_server, repo_id):
    files = tiny_llama_files()
    del files["LICENSE"]
    files["README.md"] = card({"license": "cc-by-nc-4.0"})
    old = hub_server.commit(repo_id, files)
    cli("add", repo_id)
    assert cli.json("check-license", repo_id, "--commercial", expect=1)[0]["verdict"] == "prohibited"

    new = hub_server.commit(repo_id, {"README.md": card({"license": "mit"}), "NOTICE": b"hello"}, "relicense")
    proc = cli("sync", repo_id)
    assert f"license changed from `cc-by-nc-4.0` to `mit` at {new} (pinned {old})" in proc.stdout
    assert "1 file(s) added: NOTICE" in proc.stdout
    # not yet moved: the pinned license still decides
    assert cli.json("check-license", repo_id, "--commercial", expect=1)[0]["verdict"] == "prohibited"
    d = cli.json("show", repo_id)
    assert d["revision"] == old
    assert any(e["source"] == "sync" and e["revision"] == new and e["license"] == "mit" for e in d["license_evidence"])

    synced = cli.json("sync", repo_id, "--update")
    assert synced[0]["updated"] is True
    assert cli.json("show", repo_id)["revision"] == new
    assert cli.json("check-license", repo_id, "--commercial")[0]["verdict"] == "allowed"


@pytest.mark.parametrize("source", ["../etc", "a/b/c", "", "acme/../x", "-bad/name", "x" * 300 + "/y"])
def test_malformed_repo_ids_are_refused(cli, source):
    before = cli("export").stdout
    assert_one_line(cli("add", source, expect=None))
    assert cli("export").stdout == before


def test_unknown_repo_and_unreachable_hub(cli, tmp_path):
    cli("init")
    before = cli("export").stdout
    assert_one_line(cli("add", "acme/does-not-exist", expect=None), "acme/does-not-exist")
    from .hubfixture import free_port

    offline = dict(cli.env, HF_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    from .conftest import Cli

    assert_one_line(Cli(offline)("add", "acme/anything", expect=None), "cannot reach the Hub")
    assert cli("export").stdout == before


def test_hub_url_and_hf_scheme_are_accepted(cli, hub_server, repo_id):
    sha = hub_server.commit(repo_id, tiny_llama_files())
    assert cli.json("add", f"hf://{repo_id}@{sha}")[0]["revision"] == sha
    assert cli.json("add", f"{hub_server.endpoint}/{repo_id}/tree/main")[0]["revision"] == sha


def test_local_folder_add_and_verify(cli, tmp_path):
    folder = tmp_path / "tiny-apache"
    folder.mkdir()
    (folder / "README.md").write_bytes(card({"license": "apache-2.0", "pipeline_tag": "fill-mask"}))
    (folder / "config.json").write_text('{"architectures": ["BertForMaskedLM"]}')
    (folder / "model.safetensors").write_bytes(safetensors_bytes({"w": ("F32", [8, 8])}))
    (folder / "LICENSE").write_bytes(APACHE_TEXT)
    added = cli.json("add", str(folder), "--name", "acme/tiny-apache")[0]
    assert added["source"] == "local" and added["license"] == "apache-2.0" and added["files"] == 4
    d = cli.json("show", "acme/tiny-apache")
    assert d["architecture"] == "BertForMaskedLM" and d["task"] == "fill-mask"
    assert all(len(f["sha256"]) == 64 for f in d["files"])
    assert cli.json("verify", "acme/tiny-apache")[0]["status"] == "passed"
    (folder / "config.json").write_text('{"architectures": ["Evil"]}')
    proc = cli("verify", "acme/tiny-apache", expect=1)
    assert "config.json" in proc.stdout


def test_safetensors_header_that_lies_about_offsets(cli, tmp_path):
    folder = tmp_path / "liar"
    folder.mkdir()
    good = safetensors_bytes({"w": ("F32", [4, 4])})
    n = int.from_bytes(good[:8], "little")
    header = json.loads(good[8:8 + n])
    header["w"]["data_offsets"] = [0, 10_000]
    raw = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + good[8 + n:])
    cli("add", str(folder), "--license", "mit")
    proc = cli("verify", "liar", expect=1)
    assert "data_offsets" in proc.stdout


def test_empty_folder_and_api_only(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line(cli("add", str(tmp_path / "empty"), expect=None), "empty")
    out = cli.json("add", "--api-only", "--provider", "OpenAI", "openai/gpt-4o")
    assert out[0]["category"] == "commercial" and out[0]["source"] == "api"
    d = cli.json("show", "openai/gpt-4o")
    assert d["provider"] == "OpenAI" and d["access"] == "api" and d["license"] == "provider-terms"


def test_pull_killed_mid_file_then_completed(cli, hub_server, repo_id):
    """A real SIGKILL during a download of a large file: the catalog claims
    nothing, and the next pull completes it."""
    import signal
    import subprocess
    import sys
    import time

    big = safetensors_bytes({"w": ("F32", [1024, 1024, 24])})  # 96 MiB
    files = tiny_llama_files()
    files["model.safetensors"] = big
    sha = hub_server.commit(repo_id, files)
    cli("add", repo_id)
    blobs = Path(cli.env["HF_HOME"]) / "hub" / f"models--{repo_id.replace('/', '--')}" / "blobs"
    proc = subprocess.Popen([sys.executable, "-m", "fmcat", "pull", repo_id], env=cli.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    partial = None
    def growing_partial() -> Path | None:
        """A partial download with bytes in it; one renamed to its final name between
        listing and stat is simply not partial any more (no race on the listing)."""
        for p in blobs.glob("*.incomplete") if blobs.exists() else ():
            try:
                if p.stat().st_size > 0:
                    return p
            except FileNotFoundError:
                continue
        return None

    while time.time() < deadline and proc.poll() is None:
        partial = growing_partial()
        if partial is not None:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(30)
    if partial is None:
        pytest.skip("the download finished before it could be interrupted on this machine")
    assert proc.returncode == -signal.SIGKILL
    assert not cache_file(cli, repo_id, sha, "model.safetensors").exists()
    assert cli.json("show", repo_id)["verifications"] == []
    cli("pull", repo_id)
    assert cli.json("verify", repo_id)[0]["status"] == "passed"


def test_add_follows_the_base_model_chain_on_the_same_hub(cli, hub_server, repo_id):
    """A fine-tune's card names its base: add pins and records the base too, and
    the verdict carries the base's terms; with --no-follow-base it stays unresolved."""
    base_id = repo_id + "-base"
    base_sha = hub_server.commit(base_id, tiny_llama_files() | {
        "README.md": card({"license": "llama2", "pipeline_tag": "text-generation"})}, "base")
    ft_id = repo_id + "-ft"
    hub_server.commit(ft_id, {
        "README.md": card({"license": "apache-2.0", "base_model": base_id, "base_model_relation": "finetune"}),
        "model.safetensors": safetensors_bytes({"w": ("F32", [4, 4])}),
        "LICENSE": APACHE_TEXT,
    }, "fine-tune")
    added = {a["name"]: a for a in cli.json("add", ft_id)}
    assert set(added) == {ft_id, base_id}
    assert added[base_id]["revision"] == base_sha and added[base_id]["added_as_base_of"] == ft_id
    base = cli.json("show", base_id)
    assert base["sources"]["lineage"] == f"added as a base model of {ft_id}"
    ft = cli.json("show", ft_id)
    assert ft["base_models"] == [base_id] and ft["base_model_relation"] == "finetune"
    d = cli.json("check-license", ft_id, "--mau", "800000000", expect=1)[0]
    assert d["verdict"] == "needs-permission" and d["lineage"] == [base_id]
    assert any(f.startswith("relicensed") for f in d["flags"])

    # a base already in the catalog, named in other letter case, is not fetched again and is followed
    upper = repo_id + "-ft-upper"
    hub_server.commit(upper, {"README.md": card({"license": "mit", "base_model": f"hf://{base_id.upper()}"}),
                              "model.safetensors": safetensors_bytes({"w": ("F32", [2, 2])})}, "upper")
    assert [a["name"] for a in cli.json("add", upper)] == [upper]
    d = cli.json("check-license", upper, "--train-other-models", expect=1)[0]
    assert d["verdict"] == "prohibited" and d["lineage"] == [base_id]

    other = repo_id + "-ft2"
    hub_server.commit(other, {"README.md": card({"license": "mit", "base_model": repo_id + "-missing"}),
                              "model.safetensors": safetensors_bytes({"w": ("F32", [2, 2])})}, "ft2")
    proc = cli("add", other)
    assert f"base model {repo_id}-missing of {other} could not be added" in proc.stderr
    d = cli.json("check-license", other, expect=1)[0]
    assert d["verdict"] == "unknown" and any(f.startswith("unresolved base model") for f in d["flags"])

    third = repo_id + "-ft3"
    hub_server.commit(third, {"README.md": card({"license": "mit", "base_model": repo_id + "-base3"}),
                              "model.safetensors": safetensors_bytes({"w": ("F32", [2, 2])})}, "ft3")
    hub_server.commit(repo_id + "-base3", {"README.md": card({"license": "mit"}),
                                           "model.safetensors": safetensors_bytes({"w": ("F32", [2, 2])})}, "b3")
    assert [a["name"] for a in cli.json("add", third, "--no-follow-base")] == [third]
