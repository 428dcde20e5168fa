"""The child side of a smoke test: load one model from verified local files and
run one small inference. Runs in its own process (see ``fmcat.smoke``); torch,
transformers and diffusers are imported here and nowhere on the CLI path."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

PROMPT = "Hello, my name is"
IMAGE_PROMPT = "a photo of a cat"


_VERSIONS: dict[str, Any] | None = None  # set by warm() in the fork server


def warm(architectures: list[str]) -> None:
    """Run once in the fork server, before any child is forked: the work every model
    load would otherwise repeat in each child. It computes the library versions,
    builds transformers' checkpoint conversion table (about 1,000 regular expressions),
    and imports the modeling module of each architecture about to run (the class
    names the catalog recorded; only names transformers itself exports resolve).
    It never touches CUDA, and a failure only leaves the cost to the children."""
    global _VERSIONS
    try:
        _VERSIONS = versions()
        import transformers
        from transformers.conversion_mapping import get_checkpoint_conversion_mapping

        get_checkpoint_conversion_mapping("llama")  # the first call builds the table for every model type
    except Exception:  # noqa: BLE001 - an optimisation (and the fork server must not die of it)
        return
    for name in architectures[:64]:
        if re.fullmatch(r"[A-Z][A-Za-z0-9]{0,100}", name):
            with contextlib.suppress(Exception):  # not a class transformers exports: nothing to warm
                getattr(transformers, name)


def versions() -> dict[str, Any]:
    if _VERSIONS is not None:
        return dict(_VERSIONS)
    import torch

    # str(): torch's TorchVersion is a str subclass; only plain values go back to the parent
    out: dict[str, Any] = {"python": sys.version.split()[0], "torch": str(torch.__version__),
                           "cuda": torch.version.cuda}
    from importlib.metadata import PackageNotFoundError, version

    for name in ("transformers", "diffusers", "safetensors", "accelerate"):
        try:
            out[name] = version(name)  # from metadata: importing diffusers just to ask costs seconds
        except PackageNotFoundError:
            out[name] = None
    return out


def _dtype(name: str, device: str):  # type: ignore[no-untyped-def]
    import torch

    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def _digest(*arrays: Any) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(repr(a).encode() if not hasattr(a, "tobytes") else a.tobytes())
    return h.hexdigest()


def _finite(t: Any) -> bool:
    import torch

    return bool(torch.isfinite(t.float()).all().item())


def _common(path: str, trust: bool) -> dict[str, Any]:
    has_st = any(f.endswith(".safetensors") for _, _, fs in os.walk(path) for f in fs)
    return {"local_files_only": True, "trust_remote_code": trust, "use_safetensors": has_st}


class BytesChanged(Exception):
    """A file's bytes are not the ones that were verified."""


class Unsupported(Exception):
    """The installed libraries cannot load this model: the smoke test is skipped, with the reason."""


def _hash_fd(fd: int, size: int, want_sha256: str | None, want_blob: str | None) -> bool:
    h256 = hashlib.sha256() if want_sha256 else None
    h1 = hashlib.sha1(b"blob %d\x00" % size) if want_blob and not want_sha256 else None
    buf = bytearray(8 << 20)
    view = memoryview(buf)
    with os.fdopen(os.dup(fd), "rb", buffering=0) as fh:
        fh.seek(0)
        while n := fh.readinto(buf):
            (h256 or h1).update(view[:n])  # type: ignore[union-attr]
    return (h256.hexdigest() == want_sha256) if h256 else (h1.hexdigest() == want_blob)  # type: ignore[union-attr]


def private_view(source: str, files: list[dict[str, Any]]) -> tuple[str, list[int]]:
    """A private folder holding exactly the recorded files, each a link to a file
    descriptor this process opened and hashed: the loader reads the bytes that were
    checked, whatever happens to the paths afterwards (Linux /proc/self/fd)."""
    import stat
    import tempfile

    view = tempfile.mkdtemp(prefix="fmcat-smoke-")
    fds: list[int] = []
    try:
        import resource as _resource

        soft, hard = _resource.getrlimit(_resource.RLIMIT_NOFILE)
        if soft < min(hard, len(files) + 256):
            _resource.setrlimit(_resource.RLIMIT_NOFILE, (min(hard, len(files) + 256), hard))
    except (ValueError, OSError):
        pass
    for f in files:
        rel = f["path"]
        fd = os.open(os.path.join(source, rel), os.O_RDONLY)
        fds.append(fd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BytesChanged(f"{rel} is no longer a regular file")
        if f.get("size") is not None and st.st_size != f["size"]:
            raise BytesChanged(f"{rel} changed after verification ({st.st_size} bytes, verified {f['size']})")
        if not _hash_fd(fd, st.st_size, f.get("sha256"), f.get("blob_id")):
            raise BytesChanged(f"{rel} changed after verification: its bytes no longer match the verified hash")
        target = os.path.join(view, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(f"/proc/{os.getpid()}/fd/{fd}", target)
    return view, fds


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Load, infer, measure. Returns the measurements; raises on failure."""
    import shutil

    view, fds = private_view(job["path"], job["files"])
    try:
        return _run(dict(job, path=view))
    finally:
        for fd in fds:
            os.close(fd)
        shutil.rmtree(view, ignore_errors=True)


def _run(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    device, kind, path = job["device"], job["kind"], job["path"]
    dtype = _dtype(job["dtype"], device)
    torch.manual_seed(0)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    model, extra = _load(kind, path, device, dtype, job["trust_remote_code"], job.get("gguf_file"))
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with torch.inference_mode():
        out = _infer(kind, model, extra, device)
    if cuda:
        torch.cuda.synchronize(device)
    infer_s = time.perf_counter() - t1
    peak = (torch.cuda.max_memory_allocated(device) if cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    units = out.pop("units")
    return {
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if cuda else _cpu_name(),
        "dtype": str(dtype).replace("torch.", ""),
        "versions": versions(),
        "load_seconds": round(load_s, 4),
        "inference_seconds": round(infer_s, 4),
        "throughput": round(units[0] / infer_s, 3) if infer_s > 0 else None,
        "throughput_unit": units[1],
        "peak_memory_bytes": int(peak),
        **out,
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "cpu"


def _load_gguf(path: str, gguf_file: str, device: str, dtype: Any) -> tuple[Any, Any]:
    """A GGUF causal LM through transformers' GGUF loading (it dequantises with ``gguf``)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    from .gguf_files import check_structure

    arch = check_structure(Path(path) / gguf_file).metadata.get("general.architecture")
    supported = sorted(a for a in GGUF_SUPPORTED_ARCHITECTURES if a not in ("general", "tokenizer"))
    if arch not in supported:
        raise Unsupported(f"GGUF architecture {arch!r} cannot be loaded by the installed transformers "
                          f"(it loads {', '.join(supported)})")
    if arch in ("t5", "umt5"):
        raise Unsupported(f"GGUF architecture {arch!r} is an encoder-decoder: only causal LMs are smoke-tested from GGUF")
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    plain = gguf_utils.tqdm
    gguf_utils.tqdm = lambda items, **_: items  # its own progress bar, outside transformers' switch  # noqa: E731
    try:
        tok = AutoTokenizer.from_pretrained(path, gguf_file=gguf_file, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, gguf_file=gguf_file, dtype=dtype, local_files_only=True)
    finally:
        gguf_utils.tqdm = plain
    return model.to(device).eval(), tok


def _load(kind: str, path: str, device: str, dtype: Any, trust: bool, gguf_file: str | None = None) -> tuple[Any, Any]:
    if kind == "gguf-causal-lm":
        return _load_gguf(path, gguf_file or "", device, dtype)
    common = _common(path, trust)
    if kind == "text-to-image":
        from diffusers import DiffusionPipeline

        pipe = DiffusionPipeline.from_pretrained(path, dtype=dtype, **common)
        pipe.set_progress_bar_config(disable=True)
        return pipe.to(device), None
    import transformers
    from transformers import AutoTokenizer

    cls = {
        "causal-lm": transformers.AutoModelForCausalLM,
        "seq2seq": transformers.AutoModelForSeq2SeqLM,
        "masked-lm": transformers.AutoModelForMaskedLM,
        "embeddings": transformers.AutoModel,
        "text-to-audio": transformers.AutoModelForTextToWaveform,
    }[kind]
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=trust)
    model = cls.from_pretrained(path, dtype=dtype, **common).to(device).eval()
    return model, tok


def _infer(kind: str, model: Any, tok: Any, device: str) -> dict[str, Any]:
    import torch

    if kind == "text-to-image":
        steps = 2
        image = model(IMAGE_PROMPT, num_inference_steps=steps, height=64, width=64, output_type="np",
                      guidance_scale=1.0).images
        arr = image[0]
        ok = bool(torch.isfinite(torch.as_tensor(arr)).all().item())
        return {"output_check": {"finite": ok, "shape": list(arr.shape), "expected_shape": [64, 64, 3],
                                 "ok": ok and list(arr.shape) == [64, 64, 3]},
                "output_digest": _digest(arr), "units": (steps, "steps/s")}
    if kind in ("causal-lm", "seq2seq", "gguf-causal-lm"):
        inputs = tok(PROMPT, return_tensors="pt").to(device)
        new = 8
        ids = model.generate(**inputs, max_new_tokens=new, min_new_tokens=new, do_sample=False,
                             pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
        produced = ids[0] if kind == "seq2seq" else ids[0, inputs["input_ids"].shape[1]:]
        text = tok.decode(produced, skip_special_tokens=False)
        count = int(produced.shape[0])
        return {"output_check": {"tokens": count, "expected_tokens": new, "non_empty_text": bool(text.strip()),
                                 "ok": count >= 1 and bool(text.strip())},
                "output_digest": _digest(produced.cpu().numpy()), "sample": text[:200],
                "units": (count, "tokens/s")}
    if kind == "masked-lm":
        text = f"paris is the {tok.mask_token} of france"
        inputs = tok(text, return_tensors="pt").to(device)
        logits = model(**inputs).logits
        pos = (inputs["input_ids"][0] == tok.mask_token_id).nonzero()[0].item()
        top = int(logits[0, pos].argmax().item())
        ok = _finite(logits)
        return {"output_check": {"finite": ok, "shape": list(logits.shape), "top_token": tok.decode([top]),
                                 "ok": ok},
                "output_digest": _digest(logits.float().cpu().numpy()), "units": (1, "sequences/s")}
    if kind == "text-to-audio":
        # Bark reads text padded to 256 tokens, without special tokens (as its processor does)
        inputs = tok(PROMPT, padding="max_length", max_length=256, truncation=True, add_special_tokens=False,
                     return_tensors="pt").to(device)
        wave = model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                              do_sample=False)
        rate = getattr(model.generation_config, "sample_rate", None) or 24000
        ok = _finite(wave) and wave.shape[-1] > 0
        return {"output_check": {"finite": _finite(wave), "samples": int(wave.shape[-1]), "sample_rate": rate,
                                 "ok": ok},
                "output_digest": _digest(wave.float().cpu().numpy()),
                "units": (wave.shape[-1] / rate, "audio-s/s")}
    if kind == "embeddings":
        inputs = tok(PROMPT, return_tensors="pt").to(device)
        hidden = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        vec = (hidden * mask).sum(1) / mask.sum(1)
        ok = _finite(vec)
        return {"output_check": {"finite": ok, "shape": list(vec.shape), "ok": ok and vec.shape[0] == 1},
                "output_digest": _digest(vec.float().cpu().numpy()), "units": (1, "sequences/s")}
    raise ValueError(f"unsupported kind {kind}")


def _quiet(kind: str) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("transformers", "diffusers") if kind == "text-to-image" else ("transformers",):
        try:
            lib = __import__(f"{name}.utils.logging", fromlist=["logging"])
            lib.set_verbosity_error()
            lib.disable_progress_bar()
        except (ImportError, AttributeError):
            pass


def child_main(job: dict[str, Any], conn: Any) -> None:
    """Entry point of the child process: send back measurements or the error, as JSON
    (the parent never unpickles what a child sends)."""
    import json

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"

    def send(payload: dict[str, Any]) -> None:
        conn.send_bytes(json.dumps(payload, default=str).encode())

    try:
        if job.get("kind") == "probe":  # which device the models would get by default
            import torch

            send({"ok": True, "cuda": bool(torch.cuda.is_available())})
            return
        _quiet(job.get("kind", ""))
        result = run(job)
        send({"ok": True, **result})
    except Unsupported as exc:
        send({"ok": False, "skipped": str(exc)[:500]})
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which records it
        send({"ok": False, "error": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:500] if str(exc).strip() else ''}"})
    finally:
        conn.close()
