"""Catalog entries as data: validating what users, files and ``catalog/`` give.

An *entry* is the catalog-as-code form of a model (``catalog/models.yaml``,
``fmcat import``/``export``). ``parse_entry`` turns one mapping into a typed
``EntrySpec`` or raises ``InvalidInput`` naming the record and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidInput
from .licenses import CATEGORIES, KnowledgeBase

ACCESS = ("api", "open", "gated")
GATED = ("auto", "manual")
# how a model derives from its base models (the Hub card's base_model_relation)
RELATIONS = ("adapter", "finetune", "quantized", "merge")
ORIGINS = ("curated", "user", "import")  # who owns an entry: init updates only curated ones
MAX_BASES = 20
MAX_NAME = 300
MAX_TEXT = 1000
MAX_IMPORT_BYTES = 512 * 1024 * 1024
MAX_PROBLEMS = 50  # bad records reported by one import

ENTRY_KEYS = (
    "name", "display_name", "provider", "category", "license", "license_name", "license_link",
    "access", "repo_id", "revision", "local_path", "task", "architecture", "library_name",
    "base_model", "base_model_relation", "datasets", "gated", "has_remote_code", "sources", "unconfirmed",
    "files", "card", "origin",
)
FILE_KEYS = ("path", "size", "sha256", "blob_id", "lfs", "details")
MAX_DETAILS = 16 * 1024  # bytes of JSON: a file's format facts (GGUF header metadata)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Hub repo ids: optional namespace, letters, digits, '-', '_', '.'; no '--' or '..'
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")


@dataclass(frozen=True)
class FileSpec:
    path: str
    size: int | None = None
    sha256: str | None = None
    blob_id: str | None = None
    lfs: bool = False
    details: dict[str, Any] | None = None  # format facts: a GGUF file's quantisation, architecture, license

    def to_dict(self) -> dict[str, Any]:
        out = {"path": self.path, "size": self.size, "sha256": self.sha256,
               "blob_id": self.blob_id, "lfs": self.lfs}
        if self.details:
            out["details"] = self.details
        return out


@dataclass(frozen=True)
class EntrySpec:
    """One validated catalog entry; ``columns()`` gives the values to store."""

    name: str
    category: str
    license_declared: str | None = None
    license_id: str | None = None
    display_name: str | None = None
    provider: str | None = None
    license_name: str | None = None
    license_link: str | None = None
    access: str = "open"
    repo_id: str | None = None
    revision: str | None = None
    local_path: str | None = None
    task: str | None = None
    architecture: str | None = None
    library_name: str | None = None
    base_models: tuple[str, ...] = ()
    base_model_relation: str | None = None
    datasets: tuple[str, ...] = ()
    gated: str | None = None
    has_remote_code: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    unconfirmed: tuple[str, ...] = ()
    files: tuple[FileSpec, ...] | None = None  # None: leave recorded files alone
    card: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None  # as exported: an import keeps curated entries curated
    # set by sources (fmcat add / sync), not by entry files
    license_source: str | None = None
    license_text_sha256: str | None = None
    evidence: tuple[dict[str, Any], ...] = ()

    @property
    def source_kind(self) -> str:
        if self.repo_id:
            return "hub"
        if self.local_path:
            return "local"
        return "api" if self.access == "api" else "none"

    def columns(self) -> dict[str, Any]:
        return {
            "name": self.name, "name_key": model_key(self.name),
            "repo_key": model_key(self.repo_id) if self.repo_id else None,
            "display_name": self.display_name, "provider": self.provider,
            "category": self.category, "license_declared": self.license_declared,
            "license_id": self.license_id, "license_name": self.license_name,
            "license_link": self.license_link, "access": self.access,
            "source_kind": self.source_kind, "repo_id": self.repo_id, "revision": self.revision,
            "local_path": self.local_path, "task": self.task, "architecture": self.architecture,
            "library_name": self.library_name, "base_models": list(self.base_models),
            "base_model_relation": self.base_model_relation,
            "datasets": list(self.datasets), "gated": self.gated,
            "has_remote_code": self.has_remote_code, "facts": dict(self.sources),
            "unconfirmed": list(self.unconfirmed), "card": dict(self.card),
            "license_text_sha256": self.license_text_sha256,
        }


def _where(index: int | None, name: Any) -> str:
    label = f"record {index + 1}" if index is not None else "entry"
    if isinstance(name, str) and name:
        label += f" ({_clip(name)})"
    return label


def _clip(text: str, n: int = 60) -> str:
    text = _CONTROL.sub("?", text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _text(raw: dict[str, Any], key: str, where: str, *, limit: int = MAX_TEXT, control: bool = False) -> str | None:
    """A text field; ``control`` keeps control characters (a card's own words, stored as
    read and escaped wherever they are shown) instead of refusing the entry."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInput(f"{where}: {key} must be a string, not {type(value).__name__}")
    value = str(value)
    if not control and _CONTROL.search(value):
        raise InvalidInput(f"{where}: {key} contains control characters")
    if len(value) > limit:
        raise InvalidInput(f"{where}: {key} is longer than {limit} characters")
    value = value.strip()
    return value or None


def _validate_name(name: str | None, where: str) -> str:
    if not name:
        raise InvalidInput(f"{where}: every entry needs a non-empty name")
    if name.startswith("/") or name.endswith("/") or "\\" in name:
        raise InvalidInput(f"{where}: name {_clip(name)!r} must not start or end with '/' or hold '\\'")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidInput(f"{where}: name {_clip(name)!r} has an empty, '.' or '..' segment")
    return name


def validate_repo_id(repo_id: str, where: str = "repo id") -> str:
    if not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id or repo_id.endswith(".git"):
        raise InvalidInput(
            f"{where}: {_clip(repo_id)!r} is not a Hub repo id",
            hint="use org/name with letters, digits, '-', '_' and '.'",
        )
    return repo_id


def split_model_ref(ref: str) -> tuple[str, str]:
    """``org/name[@rev]``, ``hf://org/name[@rev]`` or a Hub URL (…/org/name[/tree/rev])
    as (repo id, revision or ""), without validating either."""
    from urllib.parse import urlparse

    raw = str(ref).strip()
    if raw.startswith("hf://"):
        raw = raw[5:]
        if raw.startswith("models/"):
            raw = raw[len("models/"):]
    elif raw.startswith(("http://", "https://")):
        parts = [p for p in urlparse(raw).path.split("/") if p]
        if parts[:1] == ["models"]:
            parts = parts[1:]
        rev = parts[3] if len(parts) >= 4 and parts[2] in ("tree", "blob", "resolve", "commit") else ""
        raw = "/".join(parts[:2]) + (f"@{rev}" if rev else "")
    repo_id, _, rev = raw.partition("@")
    return repo_id, rev


def model_key(ref: str) -> str:
    """How a model reference compares: ``org/name``, ``hf://org/name@rev`` and
    ``https://huggingface.co/org/name/tree/main`` are one key, in any letter case."""
    return split_model_ref(ref)[0].strip().strip("/").lower()


def _string_list(raw: dict[str, Any], key: str, where: str, *, control: bool = False) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}: {key} must be a list of strings")
    for v in value:
        if (not control and _CONTROL.search(v)) or len(v) > MAX_TEXT:
            raise InvalidInput(f"{where}: {key} holds an invalid string")
    return tuple(v.strip() for v in value if v.strip())


def _parse_file(raw: Any, where: str) -> FileSpec:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: each file must be a mapping")
    extra = set(raw) - set(FILE_KEYS)
    if extra:
        raise InvalidInput(f"{where}: unknown file keys {sorted(extra)}")
    path = _text(raw, "path", where)
    if not path or path.startswith("/") or "\\" in path or any(
        p in ("", ".", "..") for p in path.split("/")
    ):
        raise InvalidInput(f"{where}: file path {_clip(str(raw.get('path')))!r} must be relative, without '..'")
    size = raw.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0 or size > 2**50):
        raise InvalidInput(f"{where}: file {path!r} has an invalid size {size!r}")
    sha256 = raw.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _HEX64.match(sha256)):
        raise InvalidInput(f"{where}: file {path!r}: sha256 must be 64 lowercase hex digits")
    blob_id = raw.get("blob_id")
    if blob_id is not None and (not isinstance(blob_id, str) or not (_HEX40.match(blob_id) or _HEX64.match(blob_id))):
        raise InvalidInput(f"{where}: file {path!r}: blob_id must be a git object id")
    lfs = raw.get("lfs", False)
    if not isinstance(lfs, bool):
        raise InvalidInput(f"{where}: file {path!r}: lfs must be true or false")
    details = raw.get("details")
    if details is not None:
        try:
            encoded = json.dumps(details, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            encoded = None
        if not isinstance(details, dict) or encoded is None or len(encoded) > MAX_DETAILS:
            raise InvalidInput(f"{where}: file {path!r}: details must be a JSON mapping under {MAX_DETAILS} bytes")
    return FileSpec(path, size, sha256, blob_id, lfs, details or None)


def parse_entry(raw: Any, kb: KnowledgeBase, *, index: int | None = None, from_card: bool = False) -> EntrySpec:
    """Validate one entry mapping; the category is derived from the license.

    ``from_card``: the fields a model card supplies (license name and link, task,
    library, base models, datasets) may hold control characters; they are kept as
    the card wrote them and escaped when shown, not a reason to refuse the model."""
    cc = from_card
    if not isinstance(raw, dict):
        raise InvalidInput(f"{_where(index, None)}: expected a mapping, got {type(raw).__name__}")
    where = _where(index, raw.get("name"))
    unknown = [k for k in raw if k not in ENTRY_KEYS]
    if unknown:
        raise InvalidInput(f"{where}: unknown key {str(unknown[0])[:40]!r}", hint=f"known keys: {', '.join(ENTRY_KEYS)}")
    name = _validate_name(_text(raw, "name", where, limit=MAX_NAME), where)

    declared = _text(raw, "license", where, limit=300)
    try:
        resolved = kb.resolve(declared)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}", hint=exc.hint, license=declared) from None
    given_category = _text(raw, "category", where)
    if given_category is not None and given_category not in CATEGORIES:
        raise InvalidInput(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    if resolved is not None and resolved.license_id is not None:
        category = resolved.category
        if given_category is not None and given_category != category:
            raise InvalidInput(
                f"{where}: category {given_category!r} contradicts license {declared!r} ({category})",
                hint="the category is derived from the license; drop the category key",
            )
    else:
        category = given_category or "unknown"

    access = _text(raw, "access", where) or ("api" if category == "commercial" else "open")
    if access not in ACCESS:
        raise InvalidInput(f"{where}: access must be one of {', '.join(ACCESS)}")
    repo_id = _text(raw, "repo_id", where, limit=200)
    if repo_id is not None:
        validate_repo_id(repo_id, where)
    revision = _text(raw, "revision", where, limit=64)
    if revision is not None and not _HEX40.match(revision):
        raise InvalidInput(f"{where}: revision must be a 40-hex commit sha (the pinned commit)")
    base_models = _string_list(raw, "base_model", where, control=cc)
    if len(base_models) > MAX_BASES or any(len(b) > MAX_NAME for b in base_models):
        raise InvalidInput(f"{where}: base_model names more than {MAX_BASES} models or too long a name")
    relation = _text(raw, "base_model_relation", where, limit=20)
    if relation is not None:
        relation = relation.lower()
        if relation not in RELATIONS:
            raise InvalidInput(f"{where}: base_model_relation must be one of {', '.join(RELATIONS)}")
    gated = _text(raw, "gated", where)
    if gated is not None and gated not in GATED:
        raise InvalidInput(f"{where}: gated must be 'auto' or 'manual'")
    has_code = raw.get("has_remote_code", False)
    if not isinstance(has_code, bool):
        raise InvalidInput(f"{where}: has_remote_code must be true or false")

    origin = _text(raw, "origin", where, limit=20)
    if origin is not None and origin not in ORIGINS:
        raise InvalidInput(f"{where}: origin must be one of {', '.join(ORIGINS)}")
    sources = raw.get("sources") or {}
    if not isinstance(sources, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(v) <= 4 * MAX_TEXT and not _CONTROL.search(v)
        for k, v in sources.items()
    ):
        raise InvalidInput(f"{where}: sources must map fact names to text")
    card = raw.get("card") or {}
    if not isinstance(card, dict):
        raise InvalidInput(f"{where}: card must be a mapping")
    if len(json.dumps(card, default=str)) > 1_000_000:
        raise InvalidInput(f"{where}: card metadata is larger than 1 MB")

    files_raw = raw.get("files")
    files: tuple[FileSpec, ...] | None = None
    if files_raw is not None:
        if not isinstance(files_raw, list):
            raise InvalidInput(f"{where}: files must be a list")
        files = tuple(_parse_file(f, where) for f in files_raw)
        paths = [f.path for f in files]
        if len(set(paths)) != len(paths):
            raise InvalidInput(f"{where}: a file path is listed twice")

    return EntrySpec(
        name=name,
        category=category,
        license_declared=declared,
        license_id=resolved.license_id if resolved else None,
        display_name=_text(raw, "display_name", where, limit=MAX_NAME),
        provider=_text(raw, "provider", where, limit=200),
        license_name=_text(raw, "license_name", where, limit=300, control=cc),
        license_link=_text(raw, "license_link", where, control=cc),
        access=access,
        repo_id=repo_id,
        revision=revision,
        local_path=_text(raw, "local_path", where, limit=4096),
        task=_text(raw, "task", where, limit=100, control=cc),
        architecture=_text(raw, "architecture", where, limit=200, control=cc),
        library_name=_text(raw, "library_name", where, limit=100, control=cc),
        base_models=tuple(dict.fromkeys(base_models)),
        base_model_relation=relation,
        datasets=_string_list(raw, "datasets", where, control=cc),
        gated=gated,
        has_remote_code=has_code,
        sources={k: v.strip() for k, v in sources.items()},
        unconfirmed=_string_list(raw, "unconfirmed", where),
        files=files,
        card=card,
        origin=origin,
    )


def parse_entries(items: Any, kb: KnowledgeBase, where: str) -> list[EntrySpec]:
    if isinstance(items, dict) and "models" in items:
        items = items["models"]
    elif isinstance(items, dict) and "name" in items:
        items = [items]  # a single entry
    if not isinstance(items, list):
        raise InvalidInput(f"{where}: expected a list of entries (or a mapping with a 'models' list)")
    specs: list[EntrySpec] = []
    problems: list[InvalidInput] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        try:
            spec = parse_entry(item, kb, index=i)
            if spec.name in seen:
                raise InvalidInput(f"{where}: entry {_clip(spec.name)!r} appears twice")
        except InvalidInput as exc:
            problems.append(exc)
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        seen.add(spec.name)
        specs.append(spec)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        # every bad record, not only the first, so one pass fixes the file; still one line
        more = f" (the first {MAX_PROBLEMS})" if len(problems) >= MAX_PROBLEMS else ""
        raise InvalidInput(f"{where}: {len(problems)} bad records{more}: " + "; ".join(p.message for p in problems),
                           hint="nothing was imported")
    return specs


def read_entries_file(path: Path) -> list[Any]:
    """Raw entries from a JSON, JSON-lines or YAML file (by extension, else sniffed)."""
    try:
        if path.is_dir():
            raise InvalidInput(f"{path} is a directory, not an entries file", path=str(path))
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise InvalidInput(f"{path} is larger than {MAX_IMPORT_BYTES >> 20} MiB", path=str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", path=str(path)) from None
    return read_entries(data, str(path), path.suffix.lower())


def read_entries(data: bytes, where: str, suffix: str = "") -> Any:
    """Raw entries from bytes; ``suffix`` (".json", ".jsonl", ".yaml") picks the format."""
    from .yamlio import load_yaml_text

    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInput(f"{where} is larger than {MAX_IMPORT_BYTES >> 20} MiB", path=where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{where}: not UTF-8 text (byte {exc.start})", path=where) from None
    stripped = text.lstrip()
    if not stripped:
        raise InvalidInput(f"{where} is empty", path=where)
    if suffix in (".jsonl", ".ndjson") or (suffix not in (".json", ".yaml", ".yml") and _looks_jsonl(stripped)):
        return _read_jsonl(text, where)
    if suffix == ".json" or (suffix not in (".yaml", ".yml") and stripped[0] in "[{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{where}: malformed JSON at line {exc.lineno}: {exc.msg}", path=where) from None
        except RecursionError:
            raise InvalidInput(f"{where}: JSON nested too deeply", path=where) from None
    docs = [d for d in load_yaml_text(text, where, all_documents=True) if d is not None]
    if len(docs) == 1:
        return docs[0]
    return docs


def _looks_jsonl(stripped: str) -> bool:
    first = stripped.split("\n", 1)
    return stripped.startswith("{") and len(first) > 1 and first[1].lstrip().startswith("{")


def _read_jsonl(text: str, path: str) -> list[Any]:
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: malformed JSON on line {lineno}: {exc.msg}", path=str(path)) from None
        except RecursionError:
            raise InvalidInput(f"{path}: JSON nested too deeply on line {lineno}", path=str(path)) from None
    return out
