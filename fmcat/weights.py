"""Pulling, verifying and syncing catalog models: the catalog side.

Each operation reads what it needs in one short transaction, does the slow
part (network, hashing) with no transaction open, and records the outcome in
another short one, so concurrent fmcat processes never wait on each other and
nothing is recorded for work that did not complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from . import __version__
from .errors import FmcatError, ModelNotFound
from .verify import FileTarget, VerifyResult

if TYPE_CHECKING:  # the ORM is imported by the functions that use a session: `fastread` plans without it
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ModelPlan:
    """What the slow part of pull/verify/sync needs to know about one model."""

    name: str
    source: str  # hub | local | api | none
    repo_id: str | None
    revision: str | None
    local_path: str | None
    has_remote_code: bool
    files: tuple[dict[str, Any], ...]
    license: str | None = None
    gated: str | None = None
    skip_reason: str | None = None
    task: str | None = None
    architecture: str | None = None
    failed_files: tuple[str, ...] = ()  # altered files found by the last verification of this pin
    quant: str | None = None  # the GGUF quantisation asked for (pull --quant)

    def gguf_groups(self) -> dict[str, str | None]:
        """GGUF file → its quantisation (None when neither header nor name says)."""
        return {f["path"]: (f.get("details") or {}).get("quantization") for f in self.files
                if f["path"].lower().endswith(".gguf")}

    def chosen_quant(self) -> tuple[str | None, str | None]:
        """The GGUF quantisation this command works on, or why none can be chosen:
        ``--quant`` when given; else one already pulled; else the documented default."""
        from .gguf_files import pick_quant

        groups = self.gguf_groups()
        if len({q or p for p, q in groups.items()}) <= 1:
            return None, None
        if self.quant is None and self.source == "hub" and self.repo_id and self.revision:
            from .sources import cached_path

            present = [q or p for p, q in groups.items() if cached_path(self.repo_id, self.revision, p) is not None]
            if present:
                return pick_quant({p: p if q is None else q for p, q in groups.items()
                                   if (q or p) in present}, None)
        return pick_quant(groups, self.quant)

    def selection(self) -> tuple[list[str], list[str]]:
        from .sources import weight_selection

        quant, _ = self.chosen_quant()
        return weight_selection([f["path"] for f in self.files], self.gguf_groups(), quant)


def plan(session: Session, names: Sequence[str] | None) -> list[ModelPlan]:
    """Plans for the named models (``None``: all), in the order given."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from .catalog import find_model
    from .models import Model

    if names is None:
        models = session.scalars(select(Model).order_by(Model.name).options(selectinload(Model.files))).all()
    else:
        seen, models = set(), []
        for ref in names:
            m = find_model(session, ref)
            if m.id not in seen:
                seen.add(m.id)
                models.append(m)
        ids = [m.id for m in models]
        loaded = {m.id: m for m in session.scalars(
            select(Model).where(Model.id.in_(ids)).options(selectinload(Model.files))
            .execution_options(populate_existing=True))}
        models = [loaded[i] for i in ids]
    last_failed = _last_failed_files(session, [m.id for m in models])
    return [make_plan(
        name=m.name, source=m.source_kind, access=m.access, repo_id=m.repo_id, revision=m.revision,
        local_path=m.local_path, has_remote_code=m.has_remote_code,
        files=tuple({"path": f.path, "size": f.size, "sha256": f.sha256, "blob_id": f.blob_id,
                     "details": f.details} for f in m.files),
        license=m.license_id or m.license_declared, gated=m.gated, task=m.task, architecture=m.architecture,
        failed_files=last_failed.get((m.id, m.revision), ()),
    ) for m in models]


def make_plan(*, name: str, source: str, access: str, repo_id: str | None, revision: str | None,
              local_path: str | None, has_remote_code: bool, files: tuple[dict[str, Any], ...], license: str | None,
              gated: str | None, task: str | None, architecture: str | None,
              failed_files: tuple[str, ...]) -> ModelPlan:
    """One model's plan from its catalog record (the ORM path and ``fastread`` alike)."""
    skip = None
    if source == "api" or access == "api":
        skip = "hosted model: no weights"
    elif source == "hub" and not revision:
        skip = f"not pinned to a commit: run `fmcat add {repo_id}` first"
    elif source not in ("hub", "local"):
        skip = "no weights source recorded"
    elif not files:
        skip = "no files recorded"
    return ModelPlan(name=name, source=source, repo_id=repo_id, revision=revision, local_path=local_path,
                     has_remote_code=has_remote_code, files=files, license=license, gated=gated, skip_reason=skip,
                     task=task, architecture=architecture, failed_files=failed_files)


def _last_failed_files(session: Session, ids: list[int]) -> dict[tuple[int, str | None], tuple[str, ...]]:
    from sqlalchemy import select

    from .models import Verification
    from sqlalchemy import func

    if not ids:
        return {}
    last = (select(func.max(Verification.id)).where(Verification.model_id.in_(ids))
            .group_by(Verification.model_id))
    out = {}
    for v in session.scalars(select(Verification).where(Verification.id.in_(last),
                                                        Verification.status == "failed")):
        bad = tuple(f["path"] for f in v.files or () if f.get("status") == "failed")
        if bad:
            out[(v.model_id, v.revision)] = bad
    return out


# --- pull ------------------------------------------------------------------------


@dataclass(frozen=True)
class PullResult:
    model: str
    status: str  # pulled | present | skipped | failed
    path: str | None = None
    files: int = 0
    skipped_files: list[str] = field(default_factory=list)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def pull(p: ModelPlan, *, progress: bool) -> PullResult:
    """Download one model; a failure is this model's result, never the command's end."""
    from .sources import pull_hub

    if p.skip_reason:
        return PullResult(p.name, "skipped", reason=p.skip_reason)
    _, no_quant = p.chosen_quant()
    if no_quant:
        return PullResult(p.name, "failed", reason=no_quant)
    keep, skip = p.selection()
    if p.source == "local":
        return PullResult(p.name, "present", p.local_path, len(keep), skip, "local folder: nothing to download")
    try:
        _evict_damaged(p, keep)
        path = pull_hub(p.repo_id, p.revision, keep, progress=progress)
    except FmcatError as exc:
        return PullResult(p.name, "failed", reason=str(exc))
    return PullResult(p.name, "pulled", str(path), len(keep), skip)


def repo_cache_dir(repo_id: str) -> Path:
    """This repo's folder in the Hub cache (HF_HUB_CACHE / HF_HOME honoured)."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model")


def _evict_damaged(p: ModelPlan, keep: list[str]) -> None:
    """Drop cached copies that cannot be right (wrong size, or altered per the last
    verification), so the download fetches them again. Only paths that resolve
    inside this repo's cache folder are ever deleted: a link planted in the cache
    that points elsewhere is reported and left alone."""
    from .sources import cached_path

    sizes = {f["path"]: f["size"] for f in p.files}
    repo_dir = repo_cache_dir(p.repo_id).resolve()
    for path in keep:
        cached = cached_path(p.repo_id, p.revision, path)
        if cached is None or not (cached.exists() or cached.is_symlink()):
            continue
        blob = cached.resolve()
        entry = cached.parent.resolve() / cached.name  # the snapshot entry itself, its folder resolved
        if not entry.is_relative_to(repo_dir / "snapshots") or not blob.is_relative_to(repo_dir / "blobs"):
            raise FmcatError(
                f"{p.name}: the cached {path} leads outside the Hub cache folder of {p.repo_id} "
                f"(to {blob}); nothing was deleted",
                hint=f"remove {cached} by hand, then pull again")
        wrong_size = sizes.get(path) is not None and blob.exists() and blob.stat().st_size != sizes[path]
        if wrong_size or path in p.failed_files:
            entry.unlink()
            if blob != entry and blob.exists():
                blob.unlink()


# --- verify ----------------------------------------------------------------------


def targets(p: ModelPlan) -> list[FileTarget]:
    from .sources import cached_path

    _, skipped = p.selection()
    gguf = p.gguf_groups()
    out = []
    for f in p.files:
        if f["path"] in skipped:
            why = (f"not pulled: another quantisation ({gguf[f['path']] or f['path']}; `fmcat pull --quant` takes it)"
                   if f["path"] in gguf else "not pulled: safetensors weights are preferred")
            out.append(FileTarget(f["path"], None, f["size"], f["sha256"], f["blob_id"], why))
            continue
        if p.source == "local":
            root = Path(p.local_path or ".")
            location = root / f["path"]
            if not location.resolve().is_relative_to(root.resolve()):
                location = None
        else:
            location = cached_path(p.repo_id, p.revision, f["path"])
        out.append(FileTarget(f["path"], location, f["size"], f["sha256"], f["blob_id"]))
    return out


def verify(p: ModelPlan) -> VerifyResult | None:
    from .verify import verify_files

    if p.skip_reason:
        return None
    return verify_files(p.name, targets(p), revision=p.revision, has_remote_code=p.has_remote_code)


def record_verification(session: Session, result: VerifyResult) -> None:
    """Store a finished verification; fails cleanly if the model was removed meanwhile."""
    from sqlalchemy import select

    from .models import Model, Verification
    model = session.scalar(select(Model).where(Model.name == result.model))
    if model is None:
        raise ModelNotFound(f"{result.model} was removed from the catalog while it was being verified; "
                            "nothing recorded")
    if model.revision != result.revision:
        raise FmcatError(f"{result.model} was re-pinned while it was being verified; nothing recorded",
                         hint="run `fmcat verify` again")
    session.add(Verification(
        model_id=model.id, started_at=result.started_at, finished_at=result.finished_at,
        revision=result.revision, status=result.status, summary=result.summary,
        files=[f.to_dict() for f in result.files], fmcat_version=__version__,
    ))
    session.flush()


# --- sync --------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    model: str
    pinned: str | None
    latest: str | None
    license_before: str | None
    license_after: str | None
    gated_before: str | None
    gated_after: str | None
    files_added: list[str]
    files_removed: list[str]
    files_changed: list[str]
    updated: bool
    status: str = "synced"  # synced | skipped | failed
    reason: str | None = None

    @property
    def changes(self) -> list[str]:
        out = []
        if self.status != "synced":
            return out
        if self.license_before != self.license_after:
            out.append(f"license changed from `{self.license_before or 'none'}` to "
                       f"`{self.license_after or 'none'}` at {self.latest} (pinned {self.pinned})")
        if self.gated_before != self.gated_after:
            out.append(f"gating changed from {self.gated_before or 'open'} to {self.gated_after or 'open'} at {self.latest}")
        for label, paths in (("added", self.files_added), ("removed", self.files_removed),
                             ("changed", self.files_changed)):
            if paths:
                out.append(f"{len(paths)} file(s) {label}: " + ", ".join(paths[:10]) + (" ..." if len(paths) > 10 else ""))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "changes": self.changes}


def sync_read(p: ModelPlan) -> tuple[SyncResult, Any]:
    """Read the latest revision from the Hub and compare it with the pin (no DB)."""
    from .sources import HubRef, read_hub

    if p.source != "hub" or not p.repo_id:
        return SyncResult(p.name, p.revision, None, p.license, p.license, p.gated, p.gated, [], [], [], False,
                          "skipped", "not a Hub model"), None
    try:
        info = read_hub(HubRef(p.repo_id, None), name=p.name)
    except FmcatError as exc:  # this model's failure; the others are still synced
        return SyncResult(p.name, p.revision, None, p.license, p.license, p.gated, p.gated, [], [], [], False,
                          "failed", str(exc)), None
    before = {f["path"]: (f["sha256"] or f["blob_id"]) for f in p.files}
    after = {f.path: (f.sha256 or f.blob_id) for f in info.entry.files or ()}
    result = SyncResult(
        model=p.name, pinned=p.revision, latest=info.revision,
        license_before=p.license, license_after=info.entry.license_id or info.entry.license_declared,
        gated_before=p.gated, gated_after=info.entry.gated,
        files_added=sorted(set(after) - set(before)), files_removed=sorted(set(before) - set(after)),
        files_changed=sorted(k for k in set(before) & set(after) if before[k] != after[k]),
        updated=False,
    )
    return result, info


def record_sync(session: Session, result: SyncResult, info: Any, *, update: bool) -> SyncResult:
    from dataclasses import replace

    from sqlalchemy import select

    from .catalog import add_source
    from .models import LicenseObservation, Model

    if result.status != "synced":
        return result
    model = session.scalar(select(Model).where(Model.name == result.model))
    if model is None:
        raise ModelNotFound(f"{result.model} was removed from the catalog during sync; nothing recorded")
    if result.changes:
        session.add(LicenseObservation(
            model_id=model.id, revision=result.latest, source="sync",
            declared=info.entry.license_declared, license_id=info.entry.license_id,
            text_sha256=info.resolution.text_sha256, note="; ".join(result.changes),
        ))
    if update and result.latest != result.pinned:
        add_source(session, info)
        return replace(result, updated=True)
    return result
