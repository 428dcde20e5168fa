"""Where a model's metadata and weights come from: the Hugging Face Hub (any
hub-compatible endpoint, through ``huggingface_hub``), a local folder, or
nothing (hosted, API-only models).

Hub revisions are always pinned to a commit sha. Every file is recorded with
its size and hash (the LFS sha256 where the hub gives one, else the git blob
id); the license is resolved from the card, tags and LICENSE text with the
evidence kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from .entries import EntrySpec, FileSpec, split_model_ref, validate_repo_id
from .errors import FmcatError, InvalidInput
from .identify import Evidence, LicenseResolution, resolve_license

log = logging.getLogger(__name__)

# License-like files, in any letter case and with any extension: LICENSE*, LICENCE*,
# COPYING*, LICENSE-MODEL*, MODEL_LICENSE*, USE_POLICY*, *.license, and anything in a
# LICENSE/ or licenses/ folder. Each one is license evidence.
_LICENSE_PREFIXES = ("license", "licence", "copying", "model_license", "model-license", "use_policy", "use-policy")
_LICENSE_DIRS = {"license", "licenses", "licence", "licences"}
MAX_LICENSE_FILES = 32
DUPLICATE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".onnx_data", ".pkl")
MAX_METADATA_BYTES = 4 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{40}$")


def is_license_file(path: str) -> bool:
    """Whether a repository path is a license-like file (see ``_LICENSE_PREFIXES``)."""
    parts = path.lower().split("/")
    name = parts[-1]
    return (name.startswith(_LICENSE_PREFIXES) or name.endswith(".license")
            or any(d in _LICENSE_DIRS for d in parts[:-1]))


def license_paths(paths: list[str] | set[str], card: dict[str, Any] | None = None) -> list[str]:
    """The license-like files among ``paths`` (plus a card's ``license_link`` that names
    one of them), top-level files first, at most ``MAX_LICENSE_FILES``."""
    found = [p for p in paths if is_license_file(p)]
    link = (card or {}).get("license_link")
    link = link.removeprefix("./") if isinstance(link, str) else None
    if link and link in paths and link not in found:
        found.append(link)
    return sorted(found, key=lambda p: (p.count("/"), p.lower()))[:MAX_LICENSE_FILES]


class HubError(FmcatError):
    """The hub could not be reached or refused the request."""


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: str | None


@dataclass(frozen=True)
class SourceInfo:
    """Metadata read from a source, ready to become a catalog entry."""

    entry: EntrySpec
    resolution: LicenseResolution
    revision: str | None
    warnings: tuple[str, ...] = ()


# --- parsing what the user typed ---------------------------------------------


def parse_hub_ref(text: str, revision: str | None = None) -> HubRef:
    """``org/name[@rev]``, ``hf://org/name[@rev]`` or a Hub URL (…/org/name[/tree/rev])."""
    if not text.strip():
        raise InvalidInput("empty model source", hint="give org/name, hf://org/name or a Hub URL")
    repo_id, rev = split_model_ref(text)
    if len(repo_id) > 200 or repo_id.count("/") != 1:
        raise InvalidInput(f"{_clip(repo_id)!r} is not a Hub repo id", hint="use org/name, e.g. meta-llama/Llama-2-7b-hf")
    validate_repo_id(repo_id, "model source")
    if rev and revision and rev != revision:
        raise InvalidInput(f"two revisions given: @{rev} and --revision {revision}")
    rev = rev or revision
    if rev is not None and (not rev or len(rev) > 200 or any(c in rev for c in "\x00\n\r\t ")
                            or ".." in rev):
        raise InvalidInput(f"{_clip(rev)!r} is not a valid revision")
    return HubRef(repo_id, rev or None)


def _clip(text: str, n: int = 60) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= n else text[: n - 1] + "…"


# --- the hub -------------------------------------------------------------------


def _api():  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    return HfApi()  # HF_ENDPOINT, HF_TOKEN, HF_HOME are read by huggingface_hub itself


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _hub_error(exc: Exception, repo_id: str, revision: str | None) -> FmcatError:
    from huggingface_hub import errors as hf_errors

    where = endpoint()
    if isinstance(exc, hf_errors.GatedRepoError):
        return HubError(f"{repo_id} is gated and this token has no access",
                        hint="request access on the Hub, then set HF_TOKEN")
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return HubError(f"{repo_id} has no revision {revision!r} on {where}")
    if isinstance(exc, (hf_errors.RepositoryNotFoundError,)):
        return HubError(f"no model repository {repo_id} on {where}",
                        hint="check the name; private repos need HF_TOKEN")
    if isinstance(exc, hf_errors.OfflineModeIsEnabled):
        return HubError("HF_HUB_OFFLINE is set, so the Hub cannot be asked", hint="unset HF_HUB_OFFLINE")
    if isinstance(exc, hf_errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return HubError(f"the Hub at {where} answered {status or 'an error'} for {repo_id}")
    name = type(exc).__name__
    if "Connect" in name or "Timeout" in name or isinstance(exc, (OSError, ConnectionError)):
        return HubError(f"cannot reach the Hub at {where} ({name})",
                        hint="check the network or HF_ENDPOINT")
    return HubError(f"Hub request for {repo_id} failed: {name}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")


def _download_text(repo_id: str, revision: str, filename: str) -> str | None:
    """A small text file of the pinned revision, via the hub cache."""
    from huggingface_hub import hf_hub_download

    path = hf_hub_download(repo_id, filename, revision=revision)
    p = Path(path)
    if p.stat().st_size > MAX_METADATA_BYTES:
        return None
    return p.read_bytes().decode("utf-8", errors="replace")


MAX_GGUF_READ = 64  # GGUF files of one folder whose headers are read


def _gguf_details(path: Path) -> dict[str, Any] | None:
    if not path.name.lower().endswith(".gguf"):
        return None
    from .gguf_files import read_details

    details = read_details(path)
    if "quantization" not in details:
        from .gguf_files import quant_from_name

        quant = quant_from_name(path.name)
        if quant:
            details.update(quantization=quant, quantization_from="file name")
    return details


def hub_files(repo_id: str, revision: str) -> tuple[FileSpec, ...]:
    from huggingface_hub.hf_api import RepoFile

    files = []
    for item in _api().list_repo_tree(repo_id, revision=revision, recursive=True):
        if not isinstance(item, RepoFile):
            continue
        lfs = item.lfs
        files.append(FileSpec(
            path=item.path,
            size=item.size,
            sha256=(lfs.sha256 if lfs else None),
            blob_id=item.blob_id,
            lfs=lfs is not None,
            details=_gguf_name_details(item.path),
        ))
    return tuple(sorted(files, key=lambda f: f.path))


def _gguf_name_details(path: str) -> dict[str, Any] | None:
    """A Hub GGUF file's quantisation, as its name says (its header is read once pulled)."""
    if not path.lower().endswith(".gguf"):
        return None
    from .gguf_files import quant_from_name

    quant = quant_from_name(path)
    return {"format": "gguf", **({"quantization": quant, "quantization_from": "file name"} if quant else {})}


GGUF_PREFIX = 4 * 1024 * 1024  # bytes of a Hub GGUF file read first for its metadata
MAX_GGUF_PREFIX = 64 * 1024 * 1024  # a header (with its vocabulary) larger than this is not read remotely


def _with_remote_gguf_header(repo_id: str, sha: str, files: tuple[FileSpec, ...],
                             warnings: list[str]) -> tuple[FileSpec, ...]:
    """The metadata of one GGUF file of a Hub repo (the quantisation `pull` would take),
    read from the start of the file with a ranged download: its license and base model
    are evidence before any weights are pulled. The other files keep what their names say."""
    from .gguf_files import GgufError, NeedMore, details_of, metadata_from_prefix, pick_quant

    gguf = {f.path: (f.details or {}).get("quantization") for f in files if f.path.lower().endswith(".gguf")}
    if not gguf:
        return files
    quant, _ = pick_quant(gguf, None)
    path = sorted(p for p, q in gguf.items() if quant is None or (q or p) == quant)[0]
    size = next(f.size for f in files if f.path == path) or 0
    want = min(GGUF_PREFIX, size)
    while True:
        try:
            prefix = _download_prefix(repo_id, sha, path, want)
            header = metadata_from_prefix(prefix, size)
            break
        except NeedMore as more:
            if want >= min(MAX_GGUF_PREFIX, size):
                warnings.append(f"{path}: GGUF metadata larger than {MAX_GGUF_PREFIX >> 20} MiB: read once pulled")
                return files
            want = min(max(int(more.args[0]) * 2, want * 2), MAX_GGUF_PREFIX, size)
        except GgufError as exc:  # a warning follows from the recorded error
            return tuple(replace(f, details={"format": "gguf", "error": str(exc)[:500]}) if f.path == path else f
                         for f in files)
        except Exception as exc:  # noqa: BLE001 - the metadata is evidence; without it, say so and go on
            warnings.append(f"{path}: GGUF metadata could not be read from the Hub ({type(exc).__name__}): "
                            "its license and base model are read once pulled")
            return files
    details = dict(details_of(header, header.metadata), read_from="hub (first bytes of the file)")
    if not header.tensor_types and "quantization" not in details and gguf[path]:
        details["quantization"] = gguf[path]
    return tuple(replace(f, details=details) if f.path == path else f for f in files)


def _download_prefix(repo_id: str, sha: str, path: str, n: int) -> bytes:
    """The first ``n`` bytes of a Hub file (a Range request; servers that ignore it are
    read only that far)."""
    from huggingface_hub import constants, get_session, hf_hub_url
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

    url = hf_hub_url(repo_id, path, revision=sha, endpoint=constants.ENDPOINT)
    headers = {**build_hf_headers(), "Range": f"bytes=0-{n - 1}"}
    out = bytearray()
    with get_session().stream("GET", url, headers=headers, follow_redirects=True,
                              timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT) as response:
        hf_raise_for_status(response)
        for chunk in response.iter_bytes():
            out += chunk
            if len(out) >= n:
                break
    return bytes(out[:n])


def read_hub(ref: HubRef, *, name: str | None = None, license_override: str | None = None) -> SourceInfo:
    """Metadata of a Hub repo at its pinned commit."""
    from huggingface_hub import errors as hf_errors

    warnings: list[str] = []
    revision = ref.revision or "main"  # the Hub's default branch; some mirrors need it explicit
    try:
        info = _api().model_info(ref.repo_id, revision=revision)
        sha = info.sha
        if not sha or not _SHA.match(sha):
            raise HubError(f"the Hub gave no commit sha for {ref.repo_id}@{revision}")
        files = hub_files(ref.repo_id, sha)
    except FmcatError:
        raise
    except Exception as exc:  # noqa: BLE001 - every hub failure becomes one clear line
        raise _hub_error(exc, ref.repo_id, revision) from None

    card = info.card_data.to_dict() if info.card_data is not None else {}
    gated = info.gated if info.gated in ("auto", "manual") else None
    texts: dict[str, str | None] = {}
    paths = {f.path for f in files}
    sizes = {f.path: f.size for f in files}
    wanted = [p for p in ("config.json", "model_index.json") if p in paths]
    # license-like files are read only when small: a large file in a licenses/ folder is not a license text
    wanted += [p for p in license_paths(paths, card) if (sizes.get(p) or 0) <= MAX_METADATA_BYTES]
    for path in wanted:
        try:
            texts[path] = _download_text(ref.repo_id, sha, path)
        except hf_errors.GatedRepoError:
            gated = gated or "manual"
            warnings.append(f"{ref.repo_id} is gated: its files (LICENSE, config) cannot be read with this token; "
                            "request access and set HF_TOKEN")
            break
        except Exception as exc:  # noqa: BLE001
            raise _hub_error(exc, ref.repo_id, sha) from None
    if not (gated and any("is gated" in w for w in warnings)):
        files = _with_remote_gguf_header(ref.repo_id, sha, files, warnings)
    return _build(
        name=name or ref.repo_id, card=card, tags=list(info.tags or []), files=files, texts=texts,
        repo_id=ref.repo_id, revision=sha, local_path=None, gated=gated,
        license_override=license_override, warnings=warnings,
        pipeline_tag=getattr(info, "pipeline_tag", None), library_name=getattr(info, "library_name", None),
    )


# --- local folders -------------------------------------------------------------


def _front_matter(readme: str) -> dict[str, Any]:
    from .yamlio import load_yaml_text

    text = readme.lstrip("\ufeff")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    data = load_yaml_text(text[3:end], "README.md front matter", aliases=False)
    return data if isinstance(data, dict) else {}


def _walk(folder: Path) -> Iterator[Path]:
    """Every regular file below ``folder``. A file link must stay inside the folder;
    a linked folder, a FIFO, socket or device is refused at once (reading a FIFO
    would block, and a linked folder's files could change behind the record)."""
    import stat

    root = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in dirnames:
            if (here / d).is_symlink() and not d.startswith("."):
                raise InvalidInput(f"{here / d} is a link to a folder: refused",
                                   hint="copy the folder into the model folder instead of linking it")
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if fn.startswith("."):
                continue
            path = here / fn
            real = path.resolve()
            if not real.is_relative_to(root):
                raise InvalidInput(f"{path} points outside {root}", hint="copy the file into the folder")
            mode = os.stat(real).st_mode if real.exists() else 0
            if not stat.S_ISREG(mode):
                kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
                raise InvalidInput(f"{path} is {kind}: refused", hint="a model folder holds regular files only")
            yield path


def sha256_file(path: Path, chunk: int = 4 << 20) -> str:
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def read_local(folder: Path, *, name: str | None = None, license_override: str | None = None) -> SourceInfo:
    """Metadata and hashes of a model folder on disk (an air-gapped mirror)."""
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a directory")
    root = folder.resolve()
    paths = list(_walk(root))
    if not paths:
        raise InvalidInput(f"{folder} is empty: no model files to record")
    files = tuple(FileSpec(p.relative_to(root).as_posix(), p.stat().st_size, sha256_file(p), None, False,
                           _gguf_details(p))
                  for p in paths)
    texts: dict[str, str | None] = {}
    sizes = {f.path: f.size or 0 for f in files}
    for rel in ("README.md", "config.json", "model_index.json"):
        if sizes.get(rel, MAX_METADATA_BYTES + 1) <= MAX_METADATA_BYTES:
            texts[rel] = (root / rel).read_bytes().decode("utf-8", errors="replace")
    card = _front_matter(texts.get("README.md") or "")
    for rel in license_paths(list(sizes), card):
        if sizes[rel] <= MAX_METADATA_BYTES:
            texts[rel] = (root / rel).read_bytes().decode("utf-8", errors="replace")
    tags = card.get("tags") if isinstance(card.get("tags"), list) else []
    return _build(
        name=name or root.name, card=card, tags=[t for t in tags if isinstance(t, str)], files=files,
        texts=texts, repo_id=None, revision=None, local_path=str(root), gated=None,
        license_override=license_override, warnings=[],
        pipeline_tag=card.get("pipeline_tag"), library_name=card.get("library_name"),
    )


# --- shared ----------------------------------------------------------------------


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _card_str(card: dict[str, Any], key: str) -> str | None:
    value = card.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if isinstance(value, (str, int, float)) and str(value).strip() else None


def _card_list(card: dict[str, Any], key: str) -> list[str]:
    value = card.get(key)
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if isinstance(v, str) and v.strip()][:20]


def _card_relation(card: dict[str, Any]) -> str | None:
    from .entries import RELATIONS

    value = card.get("base_model_relation")
    return value.lower() if isinstance(value, str) and value.lower() in RELATIONS else None


def _build(
    *, name: str, card: dict[str, Any], tags: list[str], files: tuple[FileSpec, ...],
    texts: dict[str, str | None], repo_id: str | None, revision: str | None, local_path: str | None,
    gated: str | None, license_override: str | None, warnings: list[str],
    pipeline_tag: str | None, library_name: str | None,
) -> SourceInfo:
    from .licenses import knowledge_base

    kb = knowledge_base()
    license_files = {p: t for p in license_paths(list(texts), card) if (t := texts.get(p)) and "\x00" not in t}
    gguf = _gguf_facts(files, card, kb, warnings)
    resolution = resolve_license(card, tags=tags, license_files=license_files, kb=kb, metadata=gguf["evidence"])
    if gguf["doubt"] and not resolution.doubt:
        resolution = replace(resolution, license_id=None, doubt=gguf["doubt"])
    if license_override:
        resolved = kb.resolve(license_override)  # raises on unknown ids
        user = Evidence("user", license_override, resolved.license_id if resolved else None, "given with --license")
        resolution = replace(resolution, license_id=user.license_id, declared=license_override, source="user",
                             evidence=(*resolution.evidence, user), doubt=None)
    config = _json(texts.get("config.json"))
    index = _json(texts.get("model_index.json"))
    archs = config.get("architectures")
    architecture = (archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str)
                    else index.get("_class_name") if isinstance(index.get("_class_name"), str)
                    else gguf["architecture"])
    has_code = any(f.path.endswith(".py") for f in files) or bool(config.get("auto_map"))
    if index and not library_name:
        library_name = "diffusers"
    datasets = card.get("datasets")
    datasets = [d for d in datasets if isinstance(d, str)] if isinstance(datasets, list) else (
        [datasets] if isinstance(datasets, str) else [])
    at = f" at {revision[:12]}" if revision else ""
    where = f"hub {repo_id}{at}" if repo_id else f"folder {local_path}"
    sources = {"metadata": f"{where}: card metadata, config.json, model_index.json"}
    if gguf["summary"]:
        sources["gguf"] = gguf["summary"]
    if resolution.source:
        sources["license"] = f"{resolution.source} ({where})"
    if resolution.conflict:
        sources["license_conflict"] = resolution.conflict
    if resolution.doubt:
        sources["license_doubt"] = resolution.doubt
    sources = {k: "".join(c if c.isprintable() else "?" for c in v)[:4000] for k, v in sources.items()}
    raw = {
        "name": name,
        "license": resolution.license_id or resolution.declared,
        "license_name": _card_str(card, "license_name"),
        "license_link": _card_str(card, "license_link"),
        "access": "gated" if gated else "open",
        "repo_id": repo_id,
        "revision": revision,
        "local_path": local_path,
        "task": pipeline_tag or _card_str(card, "pipeline_tag"),
        "architecture": architecture,
        "library_name": library_name or _card_str(card, "library_name"),
        "base_model": gguf["bases"],
        "base_model_relation": _card_relation(card),
        "datasets": datasets[:50],
        "gated": gated,
        "has_remote_code": has_code,
        "sources": sources,
        "files": [f.__dict__ for f in files],
        "card": _jsonable(card),
    }
    spec = _entry(raw, kb)
    return SourceInfo(spec, resolution, revision, tuple(warnings))


def _gguf_facts(files: tuple[FileSpec, ...], card: dict[str, Any], kb: Any, warnings: list[str]) -> dict[str, Any]:
    """License evidence, base models and architecture from GGUF files' own metadata.
    Base models the card names come first; a GGUF that names a base without a Hub repo
    (and nothing else names one) leaves the license in doubt: its terms cannot be followed."""
    from .entries import model_key
    from .gguf_files import base_repo_ids
    from .identify import gguf_evidence

    bases = _card_list(card, "base_model")
    evidence: list[Any] = []
    unnamed: list[str] = []
    archs: list[str] = []
    quants: list[str] = []
    for f in files:
        d = f.details or {}
        if d.get("format") != "gguf":
            continue
        if d.get("error"):
            warnings.append(f"{f.path}: GGUF structure: {d['error']}")
            continue
        evidence += gguf_evidence(kb, f.path, d)
        ids, names = base_repo_ids(d)
        for b in ids:
            if model_key(b) not in {model_key(x) for x in bases}:
                bases.append(b)
        unnamed += names
        if isinstance(d.get("architecture"), str):
            archs.append(d["architecture"])
        if d.get("quantization"):
            quants.append(str(d["quantization"]))
    doubt = None
    if unnamed and not bases:
        doubt = ("GGUF metadata names a base model without a Hub repo (" + "; ".join(sorted(set(unnamed)))[:300] +
                 "): its license terms cannot be followed — add the base with `fmcat add ORG/NAME` and name it in "
                 "the card's base_model")
    n = sum(1 for f in files if (f.details or {}).get("format") == "gguf")
    summary = (f"{n} GGUF file(s)" + (f", quantisations {', '.join(sorted(set(quants)))}" if quants else "")
               + (f"; license from GGUF metadata: {', '.join(e.declared for e in evidence)}" if evidence else "")
               ) if n else None
    return {"evidence": tuple(evidence), "bases": bases[:20], "doubt": doubt,
            "architecture": archs[0] if archs else None, "summary": summary}


def _entry(raw: dict[str, Any], kb: Any) -> EntrySpec:
    from .entries import parse_entry

    license_value = raw.get("license")
    try:
        return parse_entry(raw, kb, from_card=True)
    except InvalidInput as exc:
        if license_value and "license" in exc.message:
            # a license the knowledge base does not know stays recorded as declared: verdict unknown
            raw = dict(raw, license=None)
            spec = parse_entry(raw, kb, from_card=True)
            return replace(spec, license_declared=str(license_value)[:300])
        raise


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except (RecursionError, ValueError) as exc:
        raise InvalidInput(f"card metadata cannot be stored ({type(exc).__name__}: nested too deeply "
                           "or holding values JSON cannot represent)") from None


def api_only(name: str, provider: str, license_id: str | None, display_name: str | None) -> SourceInfo:
    """A hosted model: no weights, the license as the user gave it (default: provider terms)."""
    from .entries import parse_entry
    from .licenses import knowledge_base

    declared = license_id or "provider-terms"
    raw = {"name": name, "provider": provider, "display_name": display_name or name,
           "license": declared, "access": "api", "sources": {"metadata": "user: fmcat add --api-only"}}
    entry = parse_entry(raw, knowledge_base())
    said = Evidence("user", declared, entry.license_id, "given with --license" if license_id else "default for --api-only")
    return SourceInfo(entry, LicenseResolution(entry.license_id, declared, "user", (said,)), None)


def read_source(src: str, *, name: str | None, license_override: str | None, revision: str | None,
                api: bool = False, provider: str | None = None, display_name: str | None = None) -> SourceInfo:
    """What ``fmcat add SOURCE`` reads: a hosted model, a folder, or a Hub repo."""
    if api:
        if not provider:
            raise InvalidInput("--api-only needs --provider")
        return api_only(src, provider, license_override, display_name)
    if src.strip() and (_is_dir(src) or src.startswith(("./", "../", "/", "~"))):
        folder = Path(src).expanduser()
        if not _is_dir(str(folder)):
            raise InvalidInput(f"{_clip(src, 200)} is not a directory (nor a Hub repo id such as org/name)")
        return read_local(folder, name=name, license_override=license_override)
    return read_hub(parse_hub_ref(src, revision), name=name, license_override=license_override)


def follow_bases(infos: list[SourceInfo], known: set[str], *, limit: int = 20) -> tuple[list[SourceInfo], list[str]]:
    """The base models of Hub sources, read from the Hub too (each pinned), and of
    their bases in turn; ``known`` holds the ``model_key`` of every model already in
    the catalog. A base that cannot be read stays unresolved: a warning, and its
    derivatives' verdicts stay ``unknown`` until it is added."""
    from .entries import model_key

    seen = set(known) | {model_key(i.entry.name) for i in infos} | {
        model_key(i.entry.repo_id) for i in infos if i.entry.repo_id}
    queue = [(info.entry.name, ref) for info in infos if info.entry.repo_id for ref in info.entry.base_models]
    added: list[SourceInfo] = []
    warnings: list[str] = []
    while queue:
        child, ref = queue.pop(0)
        if model_key(ref) in seen:
            continue
        seen.add(model_key(ref))
        if len(added) >= limit:
            warnings.append(f"more than {limit} base models: {ref} (base of {child}) was not added")
            continue
        try:
            base = read_hub(parse_hub_ref(ref))
        except FmcatError as exc:
            warnings.append(f"base model {ref} of {child} could not be added ({exc.message}); "
                            f"its terms cannot be followed until `fmcat add {ref}` succeeds")
            continue
        entry = replace(base.entry, sources={**base.entry.sources, "lineage": f"added as a base model of {child}"})
        added.append(replace(base, entry=entry))
        seen.add(model_key(entry.name))
        queue += [(entry.name, b) for b in entry.base_models]
    return added, warnings


def _is_dir(path: str) -> bool:
    try:
        return Path(path).expanduser().is_dir()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


# --- pulling ---------------------------------------------------------------------


def weight_selection(paths: list[str], gguf: dict[str, str | None] | None = None,
                     quant: str | None = None) -> tuple[list[str], list[str]]:
    """Files to download and files skipped: pickle/other weight formats are skipped
    when safetensors weights exist; of a repo's GGUF quantisations only ``quant``
    (a quantisation or a file path; None: every GGUF file) is taken."""
    has_safetensors = any(p.endswith(".safetensors") for p in paths)
    gguf = gguf or {}
    keep, skip = [], []
    for p in paths:
        other_quant = quant is not None and p in gguf and (gguf[p] or p) != quant
        if other_quant or has_safetensors and p.lower().endswith(DUPLICATE_WEIGHT_SUFFIXES):
            skip.append(p)
        else:
            keep.append(p)
    return keep, skip


def pull_hub(repo_id: str, revision: str, paths: list[str], *, progress: bool) -> Path:
    """Download the pinned revision's selected files into the hub cache (resumable)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    if progress:
        enable_progress_bars()
    else:
        disable_progress_bars()
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=paths))
    except Exception as exc:  # noqa: BLE001
        raise _hub_error(exc, repo_id, revision) from None


def cached_path(repo_id: str, revision: str, path: str) -> Path | None:
    """Where a pulled file of the pinned revision lies in the hub cache."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, path, revision=revision)
    return Path(found) if isinstance(found, str) else None
