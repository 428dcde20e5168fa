"""Verifying a model's files: size and hash against the record, safetensors
headers parsed and bounds-checked, pickle files scanned, repository code
flagged. Nothing here ever loads (unpickles) a file.

Pickle scanning uses ``picklescan``: it walks the pickle opcodes without
executing them, understands PyTorch zip/legacy archives and NumPy files, and
classifies each imported global against an allowlist of innocuous ones (torch
storages, numpy, collections). fmcat treats anything but "innocuous" as unsafe,
so an unknown import is flagged rather than trusted; fickling was the
alternative, but its decompiler is heavier than an allowlist check needs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from math import prod
from pathlib import Path
from typing import Any, Callable, Sequence

CHUNK = 8 << 20
MAX_HEADER = 100 * 1024 * 1024
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz")
_DTYPE_SIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8, "C64": 8,
}


@dataclass(frozen=True)
class FileCheck:
    path: str
    status: str  # ok | failed | missing | unsafe | skipped
    reason: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class VerifyResult:
    model: str
    status: str  # passed | failed | skipped
    summary: str
    revision: str | None
    started_at: dt.datetime
    finished_at: dt.datetime
    files: tuple[FileCheck, ...] = field(default_factory=tuple)
    has_remote_code: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "status": self.status, "summary": self.summary, "revision": self.revision,
            "started_at": self.started_at.isoformat() + "Z", "finished_at": self.finished_at.isoformat() + "Z",
            "has_remote_code": self.has_remote_code, "files": [f.to_dict() for f in self.files],
        }


@dataclass(frozen=True)
class FileTarget:
    """A recorded file and where its bytes should be on disk."""

    path: str
    location: Path | None
    size: int | None
    sha256: str | None
    blob_id: str | None
    skipped: str | None = None  # why it is deliberately not on disk


# --- hashing -------------------------------------------------------------------


def hash_file(path: Path, *, sha256: bool = True, git_blob: bool = False) -> tuple[str | None, str | None]:
    """sha256 and/or git blob sha1 of a file, read in chunks (never whole)."""
    size = path.stat().st_size
    h256 = hashlib.sha256() if sha256 else None
    h1 = None
    if git_blob:
        h1 = hashlib.sha1()
        h1.update(b"blob %d\x00" % size)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            chunk = view[:n]
            if h256 is not None:
                h256.update(chunk)
            if h1 is not None:
                h1.update(chunk)
    return (h256.hexdigest() if h256 else None, h1.hexdigest() if h1 else None)


# --- safetensors -----------------------------------------------------------------


def check_safetensors(path: Path) -> str | None:
    """None if the header is sound, else what is wrong with it."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return "too short to hold a safetensors header"
        n = int.from_bytes(head, "little")
        if n > size - 8 or n > MAX_HEADER:
            return f"header length {n} runs past the end of the file ({size} bytes)"
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return "header is not valid JSON"
    except ValueError as exc:  # e.g. an integer of thousands of digits
        return f"header is not usable JSON ({str(exc)[:80]})"
    if not isinstance(header, dict):
        return "header is not a JSON object"
    data_len = size - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                return "__metadata__ must map strings to strings"
            continue
        if not isinstance(info, dict):
            return f"tensor {name!r}: entry is not an object"
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype, str) or not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            return f"tensor {name!r}: bad dtype or shape"
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            return f"tensor {name!r}: bad data_offsets"
        begin, end = offsets
        if not 0 <= begin <= end <= data_len:
            return f"tensor {name!r}: data_offsets {offsets} lie outside the {data_len}-byte data section"
        width = _DTYPE_SIZE.get(dtype)
        if width is not None and (end - begin) != prod(shape) * width:
            return f"tensor {name!r}: {end - begin} bytes do not fit {dtype}{shape}"
        spans.append((begin, end, name))
    spans.sort()
    cursor = 0
    for begin, end, name in spans:
        if begin != cursor:
            return f"tensor {name!r}: data overlaps another tensor or leaves a gap at byte {cursor}"
        cursor = end
    if cursor != data_len:
        return f"data section has {data_len - cursor} bytes no tensor accounts for"
    return None


# --- pickles ---------------------------------------------------------------------


def _looks_pickled(path: Path) -> bool:
    if path.name.lower().endswith(PICKLE_SUFFIXES):
        return True
    with path.open("rb") as fh:
        head = fh.read(4)
    return head[:1] == b"\x80" or head[:2] == b"PK"


class ScanError(Exception):
    """The scanner could not read a file: it is never taken as safe."""


MAX_ZIP_MEMBERS = 100_000
MAX_PICKLE_MEMBER = 2 << 30
_PICKLE_NAMES = (".pkl", ".pickle")


def scan_pickle(path: Path) -> str | None:
    """None when only innocuous globals are imported, else what was found. A file
    the scanner cannot read raises ``ScanError``."""
    import zipfile

    try:
        if zipfile.is_zipfile(path):
            return _scan_zip(path)
        from picklescan.scanner import scan_file_path

        result = scan_file_path(str(path))
    except ScanError:
        raise
    except Exception as exc:  # noqa: BLE001 - any scanner failure is a failed check, never "safe"
        raise ScanError(f"the pickle scanner could not read it ({type(exc).__name__}: {str(exc)[:120]})") from None
    if result.scan_err:
        return "could not be scanned as a pickle: refused"
    return _risky(result)


def _risky(result: Any) -> str | None:
    from picklescan.scanner import SafetyLevel

    risky = sorted({f"{g.module}.{g.name}" for g in result.globals if g.safety != SafetyLevel.Innocuous})
    if risky:
        return "unsafe pickle imports " + ", ".join(risky[:8]) + (" ..." if len(risky) > 8 else "")
    return None


def _scan_zip(path: Path) -> str | None:
    """Every member of a zip archive (a PyTorch checkpoint), taken by its position:
    loaders open members by name, so two members with one name, or a pickle member
    the scanner cannot parse, make the file unsafe."""
    import io
    import pickletools
    import zipfile
    from collections import Counter

    from picklescan.scanner import scan_numpy, scan_pickle_bytes

    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            return f"zip archive holds {len(infos)} members: refused"
        twice = sorted(n for n, c in Counter(i.filename for i in infos).items() if c > 1)
        if twice:
            return (f"zip archive holds several members named {twice[0]!r}: which one a loader reads "
                    "is not defined, so it is refused")
        found: list[str] = []
        for index, info in enumerate(infos):
            with zf.open(info) as fh:
                head = fh.read(8)
            named_pickle = info.filename.lower().endswith(_PICKLE_NAMES)
            numpy = head.startswith(b"\x93NUMPY")
            if not (named_pickle or numpy or head[:1] == b"\x80"):
                continue
            if info.file_size > MAX_PICKLE_MEMBER:
                return f"member {info.filename!r} is too large to scan: refused"
            data = zf.read(info)
            where = f"member #{index} {info.filename!r}"
            if named_pickle:
                try:
                    for _ in pickletools.genops(io.BytesIO(data)):
                        pass
                except Exception:  # noqa: BLE001 - a pickle that does not parse is not scanned, so not safe
                    return f"{where} is not a well-formed pickle: refused"
            try:
                scan = scan_numpy if numpy else scan_pickle_bytes
                result = scan(io.BytesIO(data), f"{path.name}:{info.filename}")
            except Exception as exc:  # noqa: BLE001
                return f"{where} could not be scanned ({type(exc).__name__}): refused"
            if result.scan_err:
                return f"{where} could not be scanned as a pickle: refused"
            problem = _risky(result)
            if problem:
                found.append(f"{where}: {problem}")
        return "; ".join(found) if found else None


# --- one model -------------------------------------------------------------------


def _check(target: FileTarget) -> FileCheck:
    """One file's check; anything unexpected is this file's failure, with the reason."""
    try:
        return _check_file(target)
    except ScanError as exc:
        return FileCheck(target.path, "failed", str(exc))
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        return FileCheck(target.path, "failed", f"could not be checked ({type(exc).__name__}: {str(exc)[:120]})")


def _check_file(target: FileTarget) -> FileCheck:
    if target.skipped:
        return FileCheck(target.path, "skipped", target.skipped)
    p = target.location
    if p is None or not p.is_file():
        return FileCheck(target.path, "missing", "not on disk: run `fmcat pull`")
    size = p.stat().st_size
    if target.size is not None and size != target.size:
        return FileCheck(target.path, "failed", f"size {size} bytes, recorded {target.size}")
    want_blob = target.sha256 is None and target.blob_id is not None and len(target.blob_id) == 40
    sha256, blob = hash_file(p, sha256=target.sha256 is not None, git_blob=want_blob)
    if target.sha256 is not None and sha256 != target.sha256:
        return FileCheck(target.path, "failed", f"sha256 {sha256[:16]}… does not match the recorded {target.sha256[:16]}…")
    if want_blob and blob != target.blob_id:
        return FileCheck(target.path, "failed", f"git blob id {blob[:12]} does not match the recorded {target.blob_id[:12]}")
    if target.sha256 is None and not want_blob:
        note = "no recorded hash to compare"
    else:
        note = None
    if target.path.endswith(".safetensors"):
        problem = check_safetensors(p)
        if problem:
            return FileCheck(target.path, "failed", f"safetensors header: {problem}")
    elif target.path.lower().endswith(".gguf"):
        from .gguf_files import GgufError, check_structure

        try:
            note = check_structure(p).summary()
        except GgufError as exc:
            return FileCheck(target.path, "failed", f"GGUF structure: {exc}")
    elif _looks_pickled(p):
        problem = scan_pickle(p)
        if problem:
            return FileCheck(target.path, "unsafe", problem)
        note = "pickle: only innocuous imports"
    if target.path.endswith(".py"):
        note = "repository code: never run unless --trust-remote-code"
    return FileCheck(target.path, "ok", None, note)


def verify_files(
    model: str,
    targets: Sequence[FileTarget],
    *,
    revision: str | None,
    has_remote_code: bool,
    workers: int | None = None,
    on_file: Callable[[FileCheck], None] | None = None,
) -> VerifyResult:
    """Check every file, hashing in parallel threads (hashlib releases the GIL)."""
    started = _now()
    workers = workers or min(8, (os.cpu_count() or 2) * 2)
    # largest first, so a big file does not start last
    order = sorted(targets, key=lambda t: -(t.size or 0))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        checks = {}
        for check in pool.map(_check, order):
            checks[check.path] = check
            if on_file:
                on_file(check)
    results = tuple(checks[t.path] for t in targets)
    bad = [c for c in results if c.status in ("failed", "missing", "unsafe")]
    ok = sum(c.status == "ok" for c in results)
    if bad:
        summary = "; ".join(f"{c.path}: {c.reason}" for c in bad[:5]) + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else "")
        status = "failed"
    else:
        status = "passed"
        skipped = sum(c.status == "skipped" for c in results)
        summary = f"{ok} files match their recorded hashes" + (f", {skipped} skipped" if skipped else "")
    if has_remote_code:
        summary += "; the repository carries code (not run)"
    return VerifyResult(model, status, summary, revision, started, _now(), results, has_remote_code)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
