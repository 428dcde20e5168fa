"""`fmcat smoke-test`: pull, verify and run each model once, and record what happened.

Each model runs in its own child process, forked from a fork server that has
imported torch, transformers and diffusers once (and never touched CUDA), so a
crash, a hang past the timeout or running out of memory ends only that child:
it is recorded as ``failed`` with the reason, its GPU memory goes with it, and
the next model runs. Models load only from verified local files, offline, with
safetensors preferred and repository code only when asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import __version__
from .errors import FmcatError, InvalidInput, ModelNotFound
from .models import Model, SmokeTest

log = logging.getLogger(__name__)


class CudaUnavailable(FmcatError):
    """--gpu was asked for on a machine without CUDA."""


@dataclass(frozen=True)
class SmokeOutcome:
    model: str
    status: str  # passed | failed | skipped
    reason: str | None = None
    revision: str | None = None
    kind: str | None = None
    device: str | None = None
    device_name: str | None = None
    dtype: str | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    load_seconds: float | None = None
    inference_seconds: float | None = None
    throughput: float | None = None
    throughput_unit: str | None = None
    peak_memory_bytes: int | None = None
    output_check: dict[str, Any] = field(default_factory=dict)
    output_digest: str | None = None
    trust_remote_code: bool = False
    node: str | None = None  # the Ray node (id and address) that ran it; None: this machine
    started_at: dt.datetime = field(default_factory=lambda: _now())
    finished_at: dt.datetime = field(default_factory=lambda: _now())

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["started_at"] = self.started_at.isoformat() + "Z"
        out["finished_at"] = self.finished_at.isoformat() + "Z"
        return out


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def resolve_device(gpu: bool, device: str | None) -> str | None:
    """The device to run on; --gpu without CUDA is an error (exit 2). None when neither
    is given: cuda if the model processes see it, else cpu (``Runner.default_device``
    asks one, so this process never imports torch just to know)."""
    if gpu and device and not device.startswith("cuda"):
        raise InvalidInput(f"--gpu and --device {device} contradict each other")
    want = "cuda" if gpu else device
    if want is not None and want != "cpu" and not (want == "cuda" or (want.startswith("cuda:") and want[5:].isdigit())):
        raise InvalidInput(f"unknown device {want!r}", hint="use cpu, cuda or cuda:N")
    import importlib.util

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        raise FmcatError("smoke tests need torch and transformers (and diffusers for pipelines)",
                         hint="pip install 'fmcat[models]'")
    if want is None or want == "cpu":
        return want  # no need to import torch here: the children do
    import torch

    if want.startswith("cuda"):
        if not torch.cuda.is_available():
            raise CudaUnavailable("CUDA is not available on this machine (torch sees no GPU)",
                                  hint="run on a CUDA machine, or use --device cpu")
        index = int(want[5:]) if ":" in want else 0
        if index >= torch.cuda.device_count():
            raise CudaUnavailable(f"no CUDA device {index}: this machine has {torch.cuda.device_count()}")
    return want


# --- what kind of model is this -----------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def detect_kind(folder: Path, task: str | None, architecture: str | None) -> tuple[str | None, str | None]:
    """The smoke test a model gets, from what it is (files, config, task), never its name."""
    if (folder / "model_index.json").is_file():
        index = _read_json(folder / "model_index.json")
        cls = str(index.get("_class_name", ""))
        if task in (None, "text-to-image") and ("Diffusion" in cls or task == "text-to-image"):
            return "text-to-image", None
        return None, f"diffusers pipeline {cls or '?'} for task {task or '?'} is not supported"
    config = _read_json(folder / "config.json")
    archs = config.get("architectures") if isinstance(config.get("architectures"), list) else []
    arch = architecture or (archs[0] if archs and isinstance(archs[0], str) else "")
    if task in ("sentence-similarity", "feature-extraction"):
        return "embeddings", None
    if task == "fill-mask" or arch.endswith("ForMaskedLM"):
        return "masked-lm", None
    if arch == "BarkModel" or config.get("model_type") == "bark":
        return "text-to-audio", None
    if task in ("text-to-speech", "text-to-audio"):
        return None, f"text-to-audio model {arch or '?'}: only Bark is supported so far"
    if config.get("is_encoder_decoder") or arch.endswith("ForConditionalGeneration") and task in (
        "translation", "summarization", "text2text-generation"
    ):
        return "seq2seq", None
    if arch.endswith(("ForCausalLM", "LMHeadModel")) or task == "text-generation":
        return "causal-lm", None
    if not config:
        return None, "no config.json or model_index.json: not a transformers or diffusers model"
    return None, f"unsupported model kind (architecture {arch or '?'}, task {task or '?'})"


def needs_remote_code(folder: Path) -> str | None:
    """Why loading this model would run repository code, or None."""
    config = _read_json(folder / "config.json")
    if config.get("auto_map"):
        return "its config.json maps classes to the repository's own code (auto_map)"
    index = _read_json(folder / "model_index.json")
    for key, value in index.items():
        if isinstance(value, list) and value and value[0] is not None:
            why = _repository_library(folder, value[0])
            if why:
                return f"its pipeline's {key} comes from {why}"
    return None


def _repository_library(folder: Path, library: Any) -> str | None:
    """Why a diffusers component's library would be the repository's own code: it is
    not an installed library module, or the repository ships a module of that name."""
    import importlib.util

    if not isinstance(library, str) or not library.isidentifier():
        return f"library {str(library)[:60]!r}, which is not an installed module"
    if (folder / f"{library}.py").exists() or (folder / library / "__init__.py").exists():
        return f"the repository's own {library} module"
    if library not in ("diffusers", "transformers") and importlib.util.find_spec(library) is None:
        return f"library {library!r}, which is not an installed module"
    return None


# --- running ---------------------------------------------------------------------


class Runner:
    """Runs each job in its own child forked from a preloaded fork server."""

    def __init__(self, timeout: float, plans: Sequence[Any] = ()) -> None:
        import multiprocessing as mp

        self.timeout = timeout
        self.ctx = mp.get_context("forkserver")
        # transformers imports lazily: name the heavy modules every model load needs; diffusers
        # only when a pipeline is about to run (it costs seconds); then warm the server for the
        # architectures the catalog recorded for these models (fmcat.smoke_warm)
        self.warm = sorted({p.architecture for p in plans if p.architecture})
        pipelines = any(p.task == "text-to-image" for p in plans)
        self.ctx.set_forkserver_preload([
            "fmcat.smoke_runner", "torch", "transformers", "transformers.modeling_utils",
            "transformers.generation.utils", "transformers.masking_utils",
            "transformers.models.auto.modeling_auto", "transformers.models.auto.tokenization_auto",
            *(["diffusers"] if pipelines else []), "fmcat.smoke_warm",
        ])
        self._offline(self._start_server, FMCAT_SMOKE_WARM=",".join(self.warm))  # overlaps pulling and verifying

    @staticmethod
    def _start_server() -> None:
        from multiprocessing import forkserver

        forkserver.ensure_running()

    @staticmethod
    def _offline(start: Callable[[], None], **extra: str) -> None:
        """Start something that inherits this environment, made offline: the fork
        server keeps the environment it starts with, so nothing a model loads can
        reach a network. This process keeps its own (it may still pull)."""
        saved = dict(os.environ)
        os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                          HF_HUB_DISABLE_PROGRESS_BARS="1", **extra)
        try:
            start()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def default_device(self) -> str:
        """cuda when a model's process sees a CUDA device, else cpu: asked of a child of
        the fork server (which never touches CUDA itself), so this process need not import
        torch, which costs a second to import and most of one to tear down at exit."""
        result = self.run({"kind": "probe"})
        if not isinstance(result.get("cuda"), bool):  # the probe itself failed: ask torch here
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        return "cuda" if result["cuda"] else "cpu"

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        from .smoke_runner import child_main

        recv, send = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(target=child_main, args=(job, send), daemon=True)
        self._offline(proc.start)
        send.close()
        result: dict[str, Any] | None = None
        if recv.poll(self.timeout):
            result = _read_result(recv)
        proc.join(5 if result is not None else 0)
        if proc.is_alive():
            proc.kill()
            proc.join()
            if result is None:
                return {"ok": False, "error": f"timed out after {self.timeout:g} s; the process was killed"}
        recv.close()
        if result is not None:
            return result
        code = proc.exitcode
        if code is not None and code < 0:
            import signal

            name = signal.Signals(-code).name
            why = " (killed: likely out of memory)" if name == "SIGKILL" else ""
            return {"ok": False, "error": f"the model's process died with {name}{why}"}
        return {"ok": False, "error": f"the model's process exited with code {code} without a result"}


RESULT_LIMIT = 1 << 20  # bytes: a child's measurements are a few hundred


def _read_result(conn: Any) -> dict[str, Any] | None:
    """The child's result: JSON, never a pickle. The child may have run repository code
    (--trust-remote-code), and unpickling what it sends would run whatever it chose in
    this process, which writes the catalog; a library type in the result (torch's
    version string) would also make this process import torch to rebuild it."""
    refused = {"ok": False, "error": "the model's process sent a result that is not one fmcat writes "
                                     f"(not a JSON object, or over {RESULT_LIMIT} bytes): refused"}
    try:
        raw = conn.recv_bytes(RESULT_LIMIT)
    except EOFError:  # nothing sent: the exit code says why
        return None
    except OSError:
        return refused
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return refused
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        return refused
    return data


def smoke_one(
    plan: Any,
    *,
    device: str,
    dtype: str,
    trust_remote_code: bool,
    runner: Runner,
    fetch: Callable[[Any], Path],
    verify: Callable[[Any], Any],
) -> tuple[SmokeOutcome, Any]:
    """Pull, verify and run one model. Returns the outcome and the verification (if any)."""
    started = _now()
    base = {"model": plan.name, "revision": plan.revision, "device": device, "trust_remote_code": trust_remote_code,
            "started_at": started}
    if plan.skip_reason:
        return SmokeOutcome(status="skipped", reason=plan.skip_reason, **base), None
    try:
        folder = fetch(plan)
    except FmcatError as exc:
        return SmokeOutcome(status="failed", reason=f"pull failed: {exc}", **base), None
    check = verify(plan)
    if check is not None and check.status != "passed":
        return SmokeOutcome(status="failed", reason=f"refused to load: verification failed: {check.summary}",
                            **base), check
    gguf_file, gguf_info = gguf_target(plan, folder)
    kind, why = ("gguf-causal-lm", None) if gguf_file else detect_kind(folder, plan.task, plan.architecture)
    if kind is None:
        return SmokeOutcome(status="skipped", reason=why, **base), check
    code = needs_remote_code(folder)
    if code and not trust_remote_code:
        return SmokeOutcome(status="failed", kind=kind,
                            reason=f"refused: {code}; rerun with --trust-remote-code to allow it", **base), check
    result = runner.run({"kind": kind, "path": str(folder), "device": device, "dtype": dtype,
                         "trust_remote_code": bool(code) and trust_remote_code, "files": loadable(plan),
                         **({"gguf_file": gguf_file} if gguf_file else {})})
    if not result.pop("ok"):
        if result.get("skipped"):
            return SmokeOutcome(status="skipped", kind=kind, reason=result["skipped"], versions=gguf_info,
                                **base), check
        return SmokeOutcome(status="failed", kind=kind, reason=result["error"], versions=gguf_info, **base), check
    checked = result.get("output_check", {})
    status = "passed" if checked.get("ok") else "failed"
    reason = None if status == "passed" else f"output check failed: {checked}"
    result.pop("sample", None)
    fields = {k: result.get(k) for k in ("device_name", "dtype", "load_seconds", "inference_seconds", "throughput",
                                         "throughput_unit", "peak_memory_bytes", "output_digest")}
    return SmokeOutcome(status=status, reason=reason, kind=kind, versions={**result.get("versions", {}), **gguf_info},
                        output_check=checked, finished_at=_now(), **fields, **base), check


def gguf_target(plan: Any, folder: Path) -> tuple[str | None, dict[str, Any]]:
    """The GGUF file a GGUF-only model runs from (the first part of a split file), and
    what is recorded of it; (None, {}) when the model is not a GGUF-only one."""
    if (folder / "config.json").is_file() or (folder / "model_index.json").is_file():
        return None, {}
    chosen = sorted(p for p in plan.selection()[0] if p.lower().endswith(".gguf"))
    if not chosen:
        return None, {}
    file = chosen[0]
    details = next((f.get("details") or {} for f in plan.files if f["path"] == file), {})
    quant = details.get("quantization")
    if details.get("quantization_from") == "file name" or not quant:  # the header, once pulled, is the truth
        from .gguf_files import GgufError, check_structure, quantization_of

        try:
            quant = quantization_of(check_structure(folder / file)) or quant
        except (GgufError, OSError):
            pass
    return file, {"gguf_file": file, "quantization": quant}


def loadable(plan: Any) -> list[dict[str, Any]]:
    """The files a model's child may read: recorded, selected for pulling, and with a
    hash to check them against (the child hashes each through the handle it loads)."""
    keep = set(plan.selection()[0])
    return [{"path": f["path"], "size": f["size"], "sha256": f["sha256"], "blob_id": f["blob_id"]}
            for f in plan.files
            if f["path"] in keep and (f["sha256"] or (f["blob_id"] and len(f["blob_id"]) == 40))]


def record_smoke(session: Session, outcome: SmokeOutcome) -> None:
    model = session.scalar(select(Model).where(Model.name == outcome.model))
    if model is None:
        raise ModelNotFound(f"{outcome.model} was removed from the catalog during its smoke test; nothing recorded")
    session.add(SmokeTest(
        model_id=model.id, started_at=outcome.started_at, finished_at=outcome.finished_at,
        revision=outcome.revision, status=outcome.status, reason=outcome.reason, device=outcome.device,
        device_name=outcome.device_name, dtype=outcome.dtype,
        versions=dict(outcome.versions, **({"kind": outcome.kind} if outcome.kind else {})),
        load_seconds=outcome.load_seconds, inference_seconds=outcome.inference_seconds,
        throughput=outcome.throughput, throughput_unit=outcome.throughput_unit,
        peak_memory_bytes=outcome.peak_memory_bytes, output_check=dict(outcome.output_check),
        output_digest=outcome.output_digest, trust_remote_code=outcome.trust_remote_code,
        fmcat_version=__version__, node=outcome.node,
    ))
    session.flush()

