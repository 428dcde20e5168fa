"""GGUF weights as first-class: license and base model from the file's own metadata,
structure checks in verify, one quantisation per pull, smoke tests through
transformers' GGUF loading. Every file here is written by the gguf package's writer."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .hubfixture import card
from .tinymodels import tiny_gguf

BACKENDS = ("sqlite",)
BASE_URL = "https://huggingface.co/meta-llama/Llama-3.2-1B"


def with_tensor_offset(data: bytes, name: str, offset: int) -> bytes:
    """``data`` with tensor ``name``'s offset in the header replaced."""
    encoded = struct.pack("<Q", len(name)) + name.encode()
    pos = data.index(encoded) + len(encoded)
    n_dims = struct.unpack_from("<I", data, pos)[0]
    at = pos + 4 + 8 * n_dims + 4
    return data[:at] + struct.pack("<Q", offset) + data[at + 8:]


@pytest.fixture
def gguf_folder(tmp_path):
    folder = tmp_path / "tiny-llama-gguf"
    folder.mkdir()
    tiny_gguf(folder / "tiny-llama-Q8_0.gguf", "Q8_0", license_id="llama3.2", base_url=BASE_URL)
    return folder


def test_a_gguf_only_folder_takes_license_and_base_from_the_metadata(initialised, gguf_folder):
    added = initialised.json("add", str(gguf_folder))[0]
    assert added["license"] == "llama3.2" and added["base_models"] == ["meta-llama/Llama-3.2-1B"]
    shown = initialised.json("show", "tiny-llama-gguf")
    assert shown["license_source"] == "gguf-metadata"
    assert [(e["source"], e["license"]) for e in shown["license_evidence"]] == [("gguf-metadata", "llama3.2")]
    details = shown["files"][0]["details"]
    assert details["quantization"] == "Q8_0" and details["architecture"] == "llama"
    assert details["base_models"][0]["repo_url"] == BASE_URL
    # the base is not in the catalog yet: its terms cannot be followed
    before = json.loads(initialised("check-license", "tiny-llama-gguf", "--json", expect=1).stdout)[0]
    assert before["verdict"] == "unknown"
    assert any("unresolved base model: meta-llama/Llama-3.2-1B" in f for f in before["flags"])
    initialised("import", "-", input=json.dumps({"name": "meta-llama/Llama-3.2-1B", "license": "llama3.2"}) + "\n")
    after = initialised.json("check-license", "tiny-llama-gguf", "--region", "us")[0]
    assert after["verdict"] == "conditional" and after["lineage"] == ["meta-llama/Llama-3.2-1B"]
    assert any("Llama 3.2 Community License" in r["clause"] for r in after["reasons"])


def test_gguf_metadata_and_card_disagreeing_is_a_flagged_conflict(initialised, gguf_folder):
    (gguf_folder / "README.md").write_text("---\nlicense: apache-2.0\nbase_model: meta-llama/Llama-3.2-1B\n---\n")
    added = initialised.json("add", str(gguf_folder))[0]
    assert added["license"] == "llama3.2"
    assert "gguf-metadata says llama3.2" in added["license_conflict"]
    assert "card says apache-2.0" in added["license_conflict"]


def test_a_base_named_without_a_repo_leaves_the_verdict_unknown(initialised, tmp_path):
    folder = tmp_path / "nameless"
    folder.mkdir()
    tiny_gguf(folder / "m-Q8_0.gguf", license_id="apache-2.0", base_name="Llama 3.2 1B")
    initialised("add", str(folder))
    d = json.loads(initialised("check-license", "nameless", "--json", expect=1).stdout)[0]
    assert d["verdict"] == "unknown"
    assert "without a Hub repo" in d["reasons"][0]["text"]


def test_smoke_test_runs_a_gguf_llama_and_records_its_quantisation(initialised, gguf_folder):
    pytest.importorskip("torch")
    initialised("add", str(gguf_folder))
    out = initialised.json("smoke-test", "tiny-llama-gguf", "--device", "cpu")[0]
    assert out["status"] == "passed", out
    assert out["kind"] == "gguf-causal-lm"
    assert out["versions"]["quantization"] == "Q8_0" and out["versions"]["gguf_file"] == "tiny-llama-Q8_0.gguf"
    assert out["output_check"]["tokens"] == 8
    shown = initialised.json("show", "tiny-llama-gguf")
    assert shown["smoke_tests"][-1]["status"] == "passed"


def test_an_architecture_transformers_cannot_load_is_skipped_with_the_reason(initialised, tmp_path):
    pytest.importorskip("torch")
    folder = tmp_path / "odd-arch"
    folder.mkdir()
    tiny_gguf(folder / "m-Q8_0.gguf", arch="mpt", license_id="apache-2.0")
    initialised("add", str(folder))
    out = json.loads(initialised("smoke-test", "odd-arch", "--device", "cpu", "--json", expect=1).stdout)[0]
    assert out["status"] == "skipped"
    assert "GGUF architecture 'mpt' cannot be loaded by the installed transformers" in out["reason"]


def test_verify_fails_a_gguf_whose_tensor_runs_past_the_end(initialised, tmp_path):
    folder = tmp_path / "bad-offset"
    folder.mkdir()
    good = tiny_gguf(tmp_path / "good.gguf").read_bytes()
    (folder / "m-Q8_0.gguf").write_bytes(with_tensor_offset(good, "output.weight", 1 << 40))
    result = initialised("add", str(folder), expect=0)
    assert "GGUF structure" in result.stderr
    verify = initialised("verify", "bad-offset", expect=1)
    assert "GGUF structure: tensor 'output.weight'" in verify.stdout and "runs past the end" in verify.stdout


HOSTILE_CHECK = r"""
import json, sys, time
from pathlib import Path
from fmcat.gguf_files import GgufError, check_structure
out = {}
for path in sys.argv[1:]:
    t0 = time.perf_counter()
    try:
        check_structure(Path(path))
        why = None
    except GgufError as exc:
        why = str(exc)
    out[Path(path).name] = [why, time.perf_counter() - t0]
# this process's own peak (getrusage would report the parent's: Linux keeps maxrss across exec)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
out["maxrss_mb"] = int(hwm.split()[1]) / 1024
print(json.dumps(out))
"""


def hostile_headers(tmp_path: Path) -> dict[str, bytes]:
    good = tiny_gguf(tmp_path / "base.gguf").read_bytes()
    key0 = struct.pack("<Q", len("general.architecture")) + b"general.architecture"
    type_at = good.index(key0) + len(key0)
    return {
        "tensors-2e60.gguf": good[:8] + struct.pack("<Q", 1 << 60) + good[16:],
        "kv-2e60.gguf": good[:16] + struct.pack("<Q", 1 << 60) + good[24:],
        "key-length-past-end.gguf": good[:24] + struct.pack("<Q", 1 << 40) + good[32:],
        "value-length-past-end.gguf": good[:type_at + 4] + struct.pack("<Q", len(good)) + good[type_at + 12:],
        "unknown-value-type.gguf": good[:type_at] + struct.pack("<I", 99) + good[type_at + 4:],
        "string-array-2e59.gguf": (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 3) + b"abc"
                                   + struct.pack("<IIQ", 9, 8, 1 << 59) + b"\0" * 64),
        "nested-arrays.gguf": (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 3) + b"abc"
                               + struct.pack("<II", 9, 9) + struct.pack("<Q", 1)
                               + (struct.pack("<IQ", 9, 1) * 8) + b"\0" * 64),
        "offset-unaligned.gguf": with_tensor_offset(good, "output.weight", 3),
        "truncated.gguf": good[: len(good) // 2],
        "not-gguf.gguf": b"PK\x03\x04" + good[4:],
    }


def test_hostile_headers_fail_quickly_in_little_memory(tmp_path):
    paths = []
    for name, data in hostile_headers(tmp_path).items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    proc = subprocess.run([sys.executable, "-c", HOSTILE_CHECK, *paths], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    rss = out.pop("maxrss_mb")
    for name, (why, seconds) in out.items():
        assert why, f"{name} was taken for a sound GGUF"
        assert seconds < 2, (name, seconds)
    assert rss < 256, rss
    assert "more than the file's" in out["tensors-2e60.gguf"][0]
    assert "unknown value type 99" in out["unknown-value-type.gguf"][0]
    assert "runs past the end" in out["key-length-past-end.gguf"][0] or "claims" in out["key-length-past-end.gguf"][0]
    assert "not aligned" in out["offset-unaligned.gguf"][0]
    assert "bad magic" in out["not-gguf.gguf"][0]


def test_hostile_headers_through_add_and_verify_are_per_file_failures(initialised, tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, data in hostile_headers(tmp_path).items():
        (folder / name).write_bytes(data)
    result = initialised("add", str(folder))
    assert "Traceback" not in result.stderr
    verify = json.loads(initialised("verify", "hostile", "--json", expect=1).stdout)
    files = {f["path"]: f for f in verify[0]["files"]}
    assert all(f["status"] == "failed" and f["reason"].startswith("GGUF structure") for f in files.values())


# --- through the loopback hub ----------------------------------------------------


@pytest.fixture
def gguf_repo(hub_server, tmp_path):
    repo_id = f"acme/tiny-llama-{uuid.uuid4().hex[:6]}-GGUF"
    files = {
        "README.md": card({"license": "llama3.2", "base_model": "meta-llama/Llama-3.2-1B",
                           "base_model_relation": "quantized", "library_name": "gguf"}),
        "tiny-llama-F16.gguf": tiny_gguf(tmp_path / "f16.gguf", "F16", license_id="llama3.2").read_bytes(),
        "tiny-llama-Q8_0.gguf": tiny_gguf(tmp_path / "q8.gguf", "Q8_0", license_id="llama3.2").read_bytes(),
    }
    sha = hub_server.commit(repo_id, files, "two quantisations")
    return repo_id, sha


def _cached(cli, repo_id: str, sha: str, path: str) -> Path:
    return Path(cli.env["HF_HOME"]) / "hub" / f"models--{repo_id.replace('/', '--')}" / "snapshots" / sha / path


def test_a_gguf_repo_pulls_one_quantisation_and_verifies_it(cli, gguf_repo):
    repo_id, sha = gguf_repo
    added = json.loads(cli("add", repo_id, "--no-follow-base", "--json").stdout)[0]
    assert added["revision"] == sha and added["license"] == "llama3.2"
    shown = json.loads(cli("show", repo_id, "--json").stdout)
    quants = {f["path"]: (f.get("details") or {}).get("quantization") for f in shown["files"]}
    assert quants == {"README.md": None, "tiny-llama-F16.gguf": "F16", "tiny-llama-Q8_0.gguf": "Q8_0"}
    assert shown["base_model_relation"] == "quantized"
    # the header of the quantisation pull would take was read from the Hub before any pull
    q8 = next(f for f in shown["files"] if f["path"] == "tiny-llama-Q8_0.gguf")["details"]
    assert q8["license"] == "llama3.2" and q8["read_from"].startswith("hub")
    assert ("gguf-metadata", "llama3.2") in [(e["source"], e["license"]) for e in shown["license_evidence"]]

    missing = cli("pull", repo_id, "--quant", "Q2_K", expect=1)
    assert "no Q2_K quantisation here (present: F16, Q8_0)" in missing.stdout
    cli("pull", repo_id, "--quant", "q8_0")
    assert _cached(cli, repo_id, sha, "tiny-llama-Q8_0.gguf").exists()
    assert not _cached(cli, repo_id, sha, "tiny-llama-F16.gguf").exists()

    verified = json.loads(cli("verify", repo_id, "--json").stdout)[0]
    assert verified["status"] == "passed", verified
    by_path = {f["path"]: f for f in verified["files"]}
    assert by_path["tiny-llama-Q8_0.gguf"]["note"].startswith("GGUF v3, llama, Q8_0")
    assert by_path["tiny-llama-F16.gguf"]["status"] == "skipped"
    assert "another quantisation" in by_path["tiny-llama-F16.gguf"]["reason"]

    blob = _cached(cli, repo_id, sha, "tiny-llama-Q8_0.gguf").resolve()
    data = bytearray(blob.read_bytes())
    data[-100] ^= 0xFF  # a byte of the last tensor
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    broken = json.loads(cli("verify", repo_id, "--json", expect=1).stdout)[0]
    reason = {f["path"]: f for f in broken["files"]}["tiny-llama-Q8_0.gguf"]["reason"]
    assert "sha256" in reason and "does not match" in reason


def test_a_hub_gguf_whose_metadata_contradicts_the_card_is_a_conflict_before_any_pull(cli, hub_server, tmp_path):
    repo_id = f"acme/relicensed-{uuid.uuid4().hex[:6]}-GGUF"
    hub_server.commit(repo_id, {
        "README.md": card({"license": "mit"}),
        "m-Q4_K_M.gguf": tiny_gguf(tmp_path / "m.gguf", "Q8_0", license_id="llama3.2").read_bytes(),
    })
    added = json.loads(cli("add", repo_id, "--json").stdout)[0]
    assert added["license"] == "llama3.2"
    assert "card says mit" in added["license_conflict"] and "gguf-metadata says llama3.2" in added["license_conflict"]


def test_a_hub_gguf_with_a_tensor_past_the_end_fails_on_structure(cli, hub_server, tmp_path):
    repo_id = f"acme/broken-{uuid.uuid4().hex[:6]}-GGUF"
    good = tiny_gguf(tmp_path / "q8.gguf", "Q8_0").read_bytes()
    hub_server.commit(repo_id, {"README.md": card({"license": "apache-2.0"}),
                                "broken-Q8_0.gguf": with_tensor_offset(good, "output.weight", 1 << 40)})
    cli("add", repo_id)
    cli("pull", repo_id)
    verified = json.loads(cli("verify", repo_id, "--json", expect=1).stdout)[0]
    reason = verified["files"][-1]["reason"] if verified["files"][-1]["path"].endswith(".gguf") else \
        next(f["reason"] for f in verified["files"] if f["path"].endswith(".gguf"))
    assert reason.startswith("GGUF structure: tensor 'output.weight'") and "runs past the end" in reason


def test_reports_list_gguf_files_with_their_quantisation(initialised, gguf_folder, tmp_path):
    initialised("add", str(gguf_folder))
    out = tmp_path / "bom.cdx.json"
    initialised("report", "-o", str(out), expect=None)
    bom = json.loads(out.read_text())
    comp = next(c for c in bom["components"] if c["name"] == "tiny-llama-gguf")
    files = {f["name"]: f for f in comp["components"]}
    props = {p["name"]: p["value"] for p in files["tiny-llama-Q8_0.gguf"]["properties"]}
    assert props["fmcat:quantization"] == "Q8_0"
    assert files["tiny-llama-Q8_0.gguf"]["hashes"][0]["alg"] == "SHA-256"
    html = tmp_path / "r.html"
    initialised("report", "-o", str(html), expect=None)
    assert "(GGUF Q8_0)" in html.read_text()
