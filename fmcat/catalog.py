"""Catalog operations: load the curated models, upsert entries, look up, list,
show, remove and export. Functions take a session first and never commit;
they return typed records, never ORM objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from .entries import EntrySpec, FileSpec, parse_entries
from .errors import AmbiguousModel, ModelNotFound
from .licenses import KnowledgeBase, knowledge_base
from .models import LicenseObservation, Model, ModelFile, utcnow
from .settings import package_data_dir
from .yamlio import load_yaml_file

_CHUNK = 500


from .records import FileRecord, LicenseEvidence, ModelDetail, ModelSummary, RunRecord, _iso  # noqa: E402,F401


@dataclass(frozen=True)
class UpsertResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # user-owned entries init left alone

    def to_dict(self) -> dict[str, Any]:
        return {k: len(v) for k, v in asdict(self).items()} | {"added_names": list(self.added)}


# --- curated data -----------------------------------------------------------


def curated_entries(kb: KnowledgeBase | None = None) -> list[EntrySpec]:
    path = package_data_dir("catalog") / "models.yaml"
    return parse_entries(load_yaml_file(path), kb or knowledge_base(), str(path))


def init_catalog(session: Session) -> UpsertResult:
    """Load the curated models; idempotent, and never touches user-owned entries."""
    return upsert_entries(session, curated_entries(), origin="curated", respect_user=True)


# --- writing ----------------------------------------------------------------


def _same(model: Model, spec: EntrySpec) -> bool:
    return all(getattr(model, k) == v for k, v in spec.columns().items())


def _same_files(model: Model, spec: EntrySpec) -> bool:
    recorded = {(f.path, f.size, f.sha256, f.blob_id, f.is_lfs, _canon(f.details)) for f in model.files}
    return recorded == {(f.path, f.size, f.sha256, f.blob_id, f.lfs, _canon(f.details)) for f in spec.files or ()}


def _canon(details: dict[str, Any] | None) -> str:
    import json

    return json.dumps(details or None, sort_keys=True)


def upsert_entries(
    session: Session,
    specs: Sequence[EntrySpec],
    *,
    origin: str,
    respect_user: bool = False,
) -> UpsertResult:
    """Insert or update entries by name, in the caller's transaction.

    With ``respect_user`` (used by ``init``) entries whose origin is not
    ``origin`` are left alone.
    """
    result = UpsertResult()
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    new_specs: list[EntrySpec] = []
    for start in range(0, len(specs), _CHUNK):
        chunk = specs[start : start + _CHUNK]
        query = select(Model).where(Model.name.in_([s.name for s in chunk]))
        if any(spec.files is not None for spec in chunk):
            query = query.options(selectinload(Model.files))
        existing = {m.name: m for m in session.scalars(query)}
        for spec in chunk:
            model = existing.get(spec.name)
            owner = spec.origin if (spec.origin and not respect_user) else origin
            if model is None:
                row = spec.columns() | {
                    "origin": owner, "created_at": now, "updated_at": now,
                    "license_source": _license_source(spec, owner),
                }
                new_rows.append(row)
                new_specs.append(spec)
                result.added.append(spec.name)
            elif respect_user and model.origin != origin:
                result.kept.append(spec.name)
            elif _same(model, spec) and model.origin == owner and (spec.files is None or _same_files(model, spec)):
                result.unchanged.append(spec.name)
            else:
                _update(session, model, spec, owner, now)
                result.updated.append(spec.name)
    # Plain executemany plus one SELECT per chunk for the new ids: RETURNING over
    # many rows costs far more in SQLAlchemy's result splicing.
    for start in range(0, len(new_rows), _CHUNK):
        rows = new_rows[start : start + _CHUNK]
        session.execute(insert(Model), rows)
        ids = dict(session.execute(
            select(Model.name, Model.id).where(Model.name.in_([r["name"] for r in rows]))
        ).all())
        chunk_specs = new_specs[start : start + _CHUNK]
        _insert_children(session, ((ids[spec.name], spec) for spec in chunk_specs), origin, now)
    session.flush()
    return result


def _insert_children(
    session: Session, pairs: Iterable[tuple[int, EntrySpec]], origin: str, now: dt.datetime
) -> None:
    files: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    for model_id, spec in pairs:
        for f in spec.files or ():
            files.append(_file_row(model_id, f))
        observations += _observations(model_id, spec, origin, now)
    if files:
        session.execute(insert(ModelFile), files)
    if observations:
        session.execute(insert(LicenseObservation), observations)


def _license_source(spec: EntrySpec, origin: str) -> str | None:
    return spec.license_source or (origin if spec.license_declared else None)


def _observations(model_id: int, spec: EntrySpec, origin: str, now: dt.datetime) -> list[dict[str, Any]]:
    """License evidence rows: each source a resolution heard, or the entry's own license."""
    if spec.evidence:
        return [{"model_id": model_id, "observed_at": now, "revision": spec.revision,
                 "source": e["source"], "declared": e.get("declared"), "license_id": e.get("license_id"),
                 "text_sha256": e.get("text_sha256"), "note": e.get("note")} for e in spec.evidence]
    if not spec.license_declared:
        return []
    return [{"model_id": model_id, "observed_at": now, "revision": spec.revision, "source": origin,
             "declared": spec.license_declared, "license_id": spec.license_id, "text_sha256": None,
             "note": None}]


def _file_row(model_id: int, f: FileSpec) -> dict[str, Any]:
    return {"model_id": model_id, "path": f.path, "size": f.size, "sha256": f.sha256,
            "blob_id": f.blob_id, "is_lfs": f.lfs, "details": f.details}


def _update(session: Session, model: Model, spec: EntrySpec, origin: str, now: dt.datetime) -> None:
    license_changed = (model.license_id, model.license_declared) != (spec.license_id, spec.license_declared)
    record_evidence = license_changed or (spec.evidence and model.revision != spec.revision)
    for key, value in spec.columns().items():
        setattr(model, key, value)
    model.origin = origin
    model.updated_at = now
    if license_changed or spec.license_source:
        model.license_source = _license_source(spec, origin)
    if record_evidence:
        rows = _observations(model.id, spec, origin, now)
        if rows:
            session.execute(insert(LicenseObservation), rows)
    if spec.files is not None:
        session.execute(delete(ModelFile).where(ModelFile.model_id == model.id))
        if spec.files:
            session.execute(insert(ModelFile), [_file_row(model.id, f) for f in spec.files])


def add_source(session: Session, info: Any) -> UpsertResult:
    """Record a model read from the Hub or a folder (``sources.SourceInfo``)."""
    res = info.resolution
    evidence = tuple(
        {"source": e.source, "declared": e.declared, "license_id": e.license_id,
         "text_sha256": e.text_sha256, "note": e.detail}
        for e in res.evidence
    )
    spec = replace(info.entry, license_source=res.source, license_text_sha256=res.text_sha256,
                   evidence=evidence)
    return upsert_entries(session, [spec], origin="user")


def remove_model(session: Session, ref: str) -> str:
    model = find_model(session, ref)
    session.delete(model)
    session.flush()
    return model.name


# --- reading ----------------------------------------------------------------


def find_model(session: Session, ref: str) -> Model:
    """The entry named ``ref``: its name, repo id, or display name (any case)."""
    ref = ref.strip()
    if not ref:
        raise ModelNotFound("empty model name", hint="run `fmcat list` to see the names")
    model = session.scalar(select(Model).where(Model.name == ref))
    if model is not None:
        return model
    matches = session.scalars(select(Model).where(Model.repo_id == ref)).all()
    if not matches:
        low = ref.lower()
        matches = session.scalars(
            select(Model).where(
                or_(
                    func.lower(Model.name) == low,
                    func.lower(Model.repo_id) == low,
                    func.lower(Model.display_name) == low,
                )
            )
        ).all()
    if len(matches) == 1:
        return matches[0]
    shown = ref if len(ref) <= 80 else ref[:79] + "…"
    if not matches:
        raise ModelNotFound(
            f"no model named {shown!r} in the catalog",
            hint="run `fmcat list` to see the names, or `fmcat add` to register it",
            model=ref,
        )
    names = ", ".join(sorted(m.name for m in matches))
    raise AmbiguousModel(f"{shown!r} matches several models: {names}", hint="use the full name", model=ref)


def catalog_keys(session: Session) -> set[str]:
    """``model_key`` of every catalog name and repo id: what lineage can resolve."""
    from .entries import model_key

    keys: set[str] = set()
    for name, repo_id in session.execute(select(Model.name, Model.repo_id)):
        keys.add(model_key(name))
        if repo_id:
            keys.add(model_key(repo_id))
    return keys


def list_models(
    session: Session,
    *,
    category: str | None = None,
    license: str | None = None,
) -> list[ModelSummary]:
    cols = (
        Model.name, Model.display_name, Model.provider, Model.category,
        Model.license_id, Model.license_declared, Model.access, Model.source_kind,
        Model.repo_id, Model.revision, Model.task, Model.architecture,
    )
    query = select(*cols).order_by(Model.name)
    if category:
        query = query.where(Model.category == category)
    if license:
        from .errors import InvalidInput

        try:
            resolved = knowledge_base().resolve(license)
        except InvalidInput:
            resolved = None  # an id the knowledge base does not know: match what was declared
        wanted = resolved.license_id if resolved and resolved.license_id else license
        query = query.where(or_(Model.license_id == wanted, Model.license_declared == license))
    return [
        ModelSummary(
            name=r.name, display_name=r.display_name, provider=r.provider, category=r.category,
            license=r.license_id or r.license_declared, access=r.access, source=r.source_kind,
            repo_id=r.repo_id, revision=r.revision, task=r.task, architecture=r.architecture,
        )
        for r in session.execute(query)
    ]


def _run_detail(obj: Any, skip: set[str]) -> dict[str, Any]:
    out = {}
    for col in obj.__table__.columns:
        if col.key in skip:
            continue
        value = getattr(obj, col.key)
        out[col.key] = _iso(value) if isinstance(value, dt.datetime) else value
    return out


def model_detail(session: Session, ref: str) -> ModelDetail:
    model = find_model(session, ref)
    model = session.scalars(
        select(Model)
        .where(Model.id == model.id)
        .options(
            selectinload(Model.files),
            selectinload(Model.license_observations),
            selectinload(Model.verifications),
            selectinload(Model.smoke_tests),
        )
        .execution_options(populate_existing=True)
    ).one()
    skip = {"id", "model_id", "started_at", "finished_at", "status"}
    return ModelDetail(
        name=model.name, display_name=model.display_name, provider=model.provider,
        category=model.category, license=model.license_id or model.license_declared,
        license_declared=model.license_declared, license_name=model.license_name,
        license_link=model.license_link, license_source=model.license_source,
        license_text_sha256=model.license_text_sha256, access=model.access, gated=model.gated,
        source=model.source_kind, repo_id=model.repo_id, revision=model.revision,
        local_path=model.local_path, task=model.task, architecture=model.architecture,
        library_name=model.library_name, base_models=list(model.base_models or []),
        base_model_relation=model.base_model_relation,
        datasets=list(model.datasets or []), has_remote_code=model.has_remote_code,
        origin=model.origin, sources=dict(model.facts or {}),
        unconfirmed=list(model.unconfirmed or []), card=dict(model.card or {}),
        created_at=_iso(model.created_at), updated_at=_iso(model.updated_at),
        files=[FileRecord(f.path, f.size, f.sha256, f.blob_id, f.is_lfs, f.details) for f in model.files],
        license_evidence=[
            LicenseEvidence(_iso(o.observed_at), o.source, o.declared, o.license_id,
                            o.revision, o.text_sha256, o.note)
            for o in model.license_observations
        ],
        verifications=[
            RunRecord("verification", _iso(v.started_at), _iso(v.finished_at), v.status, _run_detail(v, skip))
            for v in model.verifications
        ],
        smoke_tests=[
            RunRecord("smoke-test", _iso(s.started_at), _iso(s.finished_at), s.status, _run_detail(s, skip))
            for s in model.smoke_tests
        ],
    )


def export_entries(session: Session) -> list[dict[str, Any]]:
    """Every entry in the import format, files included, sorted by name."""
    models = session.scalars(select(Model).order_by(Model.name).options(selectinload(Model.files))).all()
    out = []
    for m in models:
        entry: dict[str, Any] = {
            "name": m.name,
            "display_name": m.display_name,
            "provider": m.provider,
            "license": m.license_id or m.license_declared,
            "category": m.category,
            "license_name": m.license_name,
            "license_link": m.license_link,
            "access": m.access,
            "repo_id": m.repo_id,
            "revision": m.revision,
            "local_path": m.local_path,
            "task": m.task,
            "architecture": m.architecture,
            "library_name": m.library_name,
            "base_model": _one_or_list(m.base_models),
            "base_model_relation": m.base_model_relation,
            "datasets": list(m.datasets or []),
            "gated": m.gated,
            "has_remote_code": m.has_remote_code,
            "sources": dict(m.facts or {}),
            "unconfirmed": list(m.unconfirmed or []),
            "card": dict(m.card or {}),
            "origin": m.origin,
            "files": [
                {"path": f.path, "size": f.size, "sha256": f.sha256, "blob_id": f.blob_id, "lfs": f.is_lfs,
                 **({"details": f.details} if f.details else {})}
                for f in m.files
            ],
        }
        out.append({k: v for k, v in entry.items() if v not in (None, [], {}) or k == "files"})
    return out


def _one_or_list(values: list[str] | None) -> str | list[str] | None:
    """A base model as the import format writes it: one id, or a list for a merge."""
    values = list(values or [])
    return values[0] if len(values) == 1 else (values or None)


def parse_import(data: bytes | Path, where: str | None = None) -> list[EntrySpec]:
    """Validate a whole import (file path or bytes) before anything is written."""
    from .entries import read_entries, read_entries_file

    if isinstance(data, Path):
        where = where or str(data)
        raw = read_entries_file(data)
    else:
        where = where or "<stdin>"
        raw = read_entries(data, where)
    return parse_entries(raw, knowledge_base(), where)


def import_entries(session: Session, specs: Sequence[EntrySpec]) -> UpsertResult:
    """Write validated entries, all in the caller's transaction."""
    return upsert_entries(session, specs, origin="import")
