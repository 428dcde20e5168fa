"""GGUF weights: structure checks, metadata, and which quantisation a file holds.

``check_structure`` walks a GGUF header in bounded time and memory without
loading a tensor: magic and version, metadata and tensor counts bounded by the
file's size, every string and array inside the file, known value and tensor
types (the format's own tables from the ``gguf`` package, llama.cpp's reference
implementation), alignment, and every tensor's bytes inside the file and not
overlapping another's. A hostile header is a ``GgufError`` with the reason.

``read_details`` then reads the metadata with ``gguf.GGUFReader`` (only once the
structure is known to be sound): architecture, name, ``general.license`` (and
``.name``/``.link``), ``general.base_model.*``, quantisation, tensor count,
context length and tokenizer model.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAGIC = b"GGUF"
MAX_COUNT = 10_000_000  # metadata entries or tensors in one file
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_STRING = 64 * 1024 * 1024
MAX_ARRAY_DEPTH = 3
DEFAULT_ALIGNMENT = 32
# the preferred quantisation when `pull` is not told which: a mid-size type first
DEFAULT_QUANT_ORDER = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q4_0", "Q5_K_S", "Q6_K", "Q8_0", "IQ4_XS", "Q3_K_M", "BF16",
                       "F16", "F32")
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class GgufError(Exception):
    """A GGUF file whose structure is not sound; the message says where."""


@dataclass
class GgufHeader:
    version: int
    tensor_count: int
    kv_count: int
    alignment: int
    data_offset: int
    metadata: dict[str, Any] = field(default_factory=dict)  # scalars and short strings only
    tensor_types: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        arch = self.metadata.get("general.architecture") or "?"
        return f"GGUF v{self.version}, {arch}, {quantization_of(self) or '?'}, {self.tensor_count} tensors"


def _quant_tables() -> tuple[dict[int, tuple[str, int, int]], dict[int, str]]:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, LlamaFileType

    types = {int(t): (t.name, *GGML_QUANT_SIZES[t]) for t in GGMLQuantizationType if t in GGML_QUANT_SIZES}
    files = {int(f): f.name.removeprefix("MOSTLY_").removeprefix("ALL_") for f in LlamaFileType}
    return types, files


def quant_names() -> list[str]:
    """Every quantisation name GGUF files use (Q4_K_M, Q8_0, IQ2_XS, F16, ...), longest first."""
    types, files = _quant_tables()
    names = {n for n in files.values() if n != "GUESSED"} | {t[0] for t in types.values()}
    return sorted(names, key=lambda n: (-len(n), n))


def quant_from_name(filename: str) -> str | None:
    """The quantisation a GGUF file's name says (``model-Q4_K_M.gguf`` → ``Q4_K_M``)."""
    stem = Path(filename).name
    for name in quant_names():
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", stem, re.IGNORECASE):
            return name
    return None


def quantization_of(header: GgufHeader) -> str | None:
    """``general.file_type`` when it names one, else the most common tensor type."""
    _, files = _quant_tables()
    ft = header.metadata.get("general.file_type")
    if isinstance(ft, int) and ft in files and files[ft] != "GUESSED":
        return files[ft]
    if header.tensor_types:
        return header.tensor_types.most_common(1)[0][0]
    return None


class NeedMore(Exception):
    """A header read from the start of a remote file needs more of its bytes."""


class _Cursor:
    """Reads ``buf``, the first ``len(buf)`` bytes of a file of ``size`` bytes."""

    def __init__(self, buf: Any, size: int, have: int | None = None) -> None:
        self.buf, self.size, self.pos = buf, size, 0
        self.have = size if have is None else have

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GgufError(f"{what} runs past the end of the file (at byte {self.pos}, {n} bytes wanted, "
                            f"{self.size - self.pos} left)")
        if self.pos + n > self.have:
            raise NeedMore(self.pos + n)

    def unpack(self, fmt: str, what: str) -> Any:
        n = struct.calcsize(fmt)
        self.need(n, what)
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += n
        return value

    def string(self, what: str, *, keep: bool) -> str | None:
        n = self.unpack("<Q", f"{what} length")
        if n > MAX_STRING:
            raise GgufError(f"{what} claims {n} bytes, more than any GGUF string holds")
        self.need(n, what)
        raw = bytes(self.buf[self.pos:self.pos + n]) if keep else None
        self.pos += n
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GgufError(f"{what} is not UTF-8") from None


def _value(c: _Cursor, vtype: int, key: str, depth: int = 0) -> Any:
    if vtype in _SCALAR:
        return c.unpack(_SCALAR[vtype], f"value of {key!r}")
    if vtype == _STRING:
        return c.string(f"value of {key!r}", keep=True)
    if vtype != _ARRAY:
        raise GgufError(f"metadata {key!r} has unknown value type {vtype}")
    if depth >= MAX_ARRAY_DEPTH:
        raise GgufError(f"metadata {key!r} nests arrays more than {MAX_ARRAY_DEPTH} deep")
    item = c.unpack("<I", f"array type of {key!r}")
    count = c.unpack("<Q", f"array length of {key!r}")
    if item in _SCALAR:
        n = count * struct.calcsize(_SCALAR[item])
        c.need(n, f"array {key!r} ({count} items)")
        c.pos += n
    elif item == _STRING:
        if count * 8 > c.size - c.pos:
            raise GgufError(f"array {key!r} claims {count} strings, more than the file can hold")
        for i in range(count):
            c.string(f"item {i} of {key!r}", keep=False)
    elif item == _ARRAY:
        if count * 12 > c.size - c.pos:
            raise GgufError(f"array {key!r} claims {count} arrays, more than the file can hold")
        for _ in range(count):
            _value(c, _ARRAY, key, depth + 1)
    else:
        raise GgufError(f"array {key!r} has unknown item type {item}")
    return {"array_length": count}


def check_structure(path: Path) -> GgufHeader:
    """The header of a GGUF file, or ``GgufError`` when it is not sound (never reads tensors)."""
    types, _ = _quant_tables()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 24:
            raise GgufError(f"{size} bytes: too short for a GGUF header")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _walk(_Cursor(buf, size), types)


def metadata_from_prefix(prefix: bytes, size: int) -> GgufHeader:
    """The metadata of a GGUF file from its first bytes (a ranged download of a Hub
    file); ``NeedMore`` when the metadata runs beyond them. Tensors are not checked."""
    types, _ = _quant_tables()
    if len(prefix) < 24:
        raise NeedMore(24)
    return _walk(_Cursor(prefix, size, len(prefix)), types, metadata_only=True)


def _walk(c: _Cursor, types: dict[int, tuple[str, int, int]], *, metadata_only: bool = False) -> GgufHeader:
    if bytes(c.buf[:4]) != MAGIC:
        raise GgufError("not a GGUF file (bad magic)")
    c.pos = 4
    version = c.unpack("<I", "version")
    if version not in (2, 3):
        swapped = struct.unpack(">I", struct.pack("<I", version))[0]
        raise GgufError(f"GGUF version {version} is not supported" +
                        (" (a big-endian file)" if swapped in (2, 3) else " (2 and 3 are)"))
    tensor_count = c.unpack("<Q", "tensor count")
    kv_count = c.unpack("<Q", "metadata count")
    room = c.size - c.pos
    if kv_count > MAX_COUNT or kv_count * 13 > room:
        raise GgufError(f"header claims {kv_count} metadata entries: more than the file's {c.size} bytes can hold")
    if tensor_count > MAX_COUNT or tensor_count * 25 > room:
        raise GgufError(f"header claims {tensor_count} tensors: more than the file's {c.size} bytes can hold")
    header = GgufHeader(version, tensor_count, kv_count, DEFAULT_ALIGNMENT, 0)
    seen: set[str] = set()
    for i in range(kv_count):
        key = c.string(f"metadata key {i}", keep=True) or ""
        if key in seen:
            raise GgufError(f"metadata key {key!r} appears twice")
        seen.add(key)
        vtype = c.unpack("<I", f"value type of {key!r}")
        value = _value(c, vtype, key)
        if isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 2000):
            header.metadata[key] = value
    alignment = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise GgufError(f"general.alignment {alignment!r} is not a power of two")
    header.alignment = alignment
    if metadata_only:
        return header
    tensors: list[tuple[int, int, str]] = []
    names: set[str] = set()
    for i in range(tensor_count):
        name = c.string(f"tensor {i} name", keep=True) or ""
        if name in names:
            raise GgufError(f"tensor {name!r} appears twice")
        names.add(name)
        n_dims = c.unpack("<I", f"dimensions of {name!r}")
        if n_dims == 0 or n_dims > MAX_DIMS:
            raise GgufError(f"tensor {name!r} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)")
        dims = [c.unpack("<Q", f"shape of {name!r}") for _ in range(n_dims)]
        ttype = c.unpack("<I", f"type of {name!r}")
        offset = c.unpack("<Q", f"offset of {name!r}")
        if ttype not in types:
            raise GgufError(f"tensor {name!r} has unknown type {ttype}")
        tname, block, nbytes_per_block = types[ttype]
        elements = 1
        for d in dims:
            elements *= d
            if elements > c.size * 64:  # no tensor type packs 64 values in a byte
                raise GgufError(f"tensor {name!r} of shape {dims} is larger than the file")
        if dims[0] % block:
            raise GgufError(f"tensor {name!r}: first dimension {dims[0]} is not a multiple of {tname}'s block {block}")
        if offset % alignment:
            raise GgufError(f"tensor {name!r} starts at offset {offset}, not aligned to {alignment}")
        tensors.append((offset, elements // block * nbytes_per_block, name))
        header.tensor_types[tname] += 1
    header.data_offset = -(-c.pos // alignment) * alignment
    end_prev, prev = 0, None
    for offset, nbytes, name in sorted(tensors):
        start = header.data_offset + offset
        if start + nbytes > c.size:
            raise GgufError(f"tensor {name!r} ({nbytes} bytes at offset {offset}) runs past the end of the file")
        if offset < end_prev:
            raise GgufError(f"tensor {name!r} overlaps tensor {prev!r}")
        end_prev, prev = offset + nbytes, name
    return header


def read_details(path: Path) -> dict[str, Any]:
    """What fmcat records of one GGUF file: its structure, then its metadata through
    ``gguf.GGUFReader``. A file whose structure is not sound gives ``{"error": ...}``."""
    try:
        header = check_structure(path)
    except (GgufError, OSError, ValueError) as exc:
        return {"format": "gguf", "error": str(exc)[:500]}
    values = dict(header.metadata)
    try:
        values.update(_reader_values(path))
    except Exception as exc:  # noqa: BLE001 - the reference reader's failure is this file's, with its reason
        return {"format": "gguf", "error": f"gguf reader: {type(exc).__name__}: {str(exc)[:300]}"}
    return details_of(header, values)


def details_of(header: GgufHeader, values: dict[str, Any]) -> dict[str, Any]:
    """What fmcat records of a GGUF file, from its header and metadata values."""
    arch = values.get("general.architecture")
    bases = []
    for i in range(min(int(values.get("general.base_model.count") or 0), 20)):
        base = {k: values.get(f"general.base_model.{i}.{k}") for k in ("name", "organization", "repo_url")}
        bases.append({k: v for k, v in base.items() if isinstance(v, str)})
    details: dict[str, Any] = {
        "format": "gguf", "version": header.version, "architecture": arch, "name": values.get("general.name"),
        "license": values.get("general.license"), "license_name": values.get("general.license.name"),
        "license_link": values.get("general.license.link"), "base_models": bases,
        "quantization": quantization_of(header), "tensor_types": dict(header.tensor_types) or None,
        "tensor_count": header.tensor_count, "context_length": values.get(f"{arch}.context_length") if arch else None,
        "tokenizer_model": values.get("tokenizer.ggml.model"),
    }
    return {k: v for k, v in details.items() if v not in (None, [], {})}


def _reader_values(path: Path) -> dict[str, Any]:
    from gguf import GGUFReader
    from gguf.constants import GGUFValueType

    reader = GGUFReader(path)
    out: dict[str, Any] = {}
    for key, f in reader.fields.items():
        if not f.types or f.types[0] == GGUFValueType.ARRAY:
            continue
        value = f.contents()
        if isinstance(value, str) and len(value) > 2000:
            continue
        out[key] = value.item() if hasattr(value, "item") else value
    return out


def base_repo_ids(details: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Hub repo ids of the base models a GGUF names, and the ones named without a
    repo (``Meta Llama / Llama 3.2 1B``) that lineage therefore cannot follow."""
    from .entries import split_model_ref

    ids, unnamed = [], []
    for b in details.get("base_models", []):
        url = b.get("repo_url") or ""
        if url.startswith(("https://huggingface.co/", "http://huggingface.co/", "https://hf.co/")):
            repo, _ = split_model_ref(url.replace("https://hf.co/", "https://huggingface.co/"))
            if repo.count("/") == 1:
                ids.append(repo)
                continue
        name = b.get("name") or ""
        if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*", name):
            ids.append(name)
        else:
            unnamed.append(" / ".join(x for x in (b.get("organization"), name, url) if x) or "?")
    return ids, unnamed


def pick_quant(gguf_files: dict[str, str | None], wanted: str | None) -> tuple[str | None, str | None]:
    """Which quantisation to take from a GGUF repo: ``wanted`` (a type or a file name,
    any case), else the first of DEFAULT_QUANT_ORDER present, else the middle one by
    name. Returns (quantisation, None), or (None, why) when ``wanted`` is not there."""
    quants = {q for q in gguf_files.values() if q}
    if wanted:
        w = wanted.strip()
        for path, q in gguf_files.items():
            if path == w or Path(path).name == w:
                return q or path, None
        for q in quants:
            if q.lower() == w.lower():
                return q, None
        have = ", ".join(sorted(quants)) or "none named"
        return None, f"no {wanted} quantisation here (present: {have})"
    for q in DEFAULT_QUANT_ORDER:
        if q in quants:
            return q, None
    ordered = sorted(quants)
    return (ordered[len(ordered) // 2] if ordered else None), None
