"""The records fmcat's read commands return (``list``, ``show``), in a module that
imports no database library: the ORM path (``catalog``) and the plain-SQLite
path (``fastread``) build the same records."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any


def _iso(value: dt.datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


@dataclass(frozen=True)
class ModelSummary:
    """One row of ``fmcat list``."""

    name: str
    display_name: str | None
    provider: str | None
    category: str
    license: str | None
    access: str
    source: str
    repo_id: str | None
    revision: str | None
    task: str | None
    architecture: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)  # flat: no need for asdict's deep copy


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int | None
    sha256: str | None
    blob_id: str | None
    lfs: bool
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class LicenseEvidence:
    observed_at: str | None
    source: str
    declared: str | None
    license: str | None
    revision: str | None
    text_sha256: str | None
    note: str | None


@dataclass(frozen=True)
class RunRecord:
    """A verification or smoke test, as recorded."""

    kind: str
    started_at: str | None
    finished_at: str | None
    status: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class ModelDetail:
    """Everything the catalog holds about one model (``fmcat show``)."""

    name: str
    display_name: str | None
    provider: str | None
    category: str
    license: str | None
    license_declared: str | None
    license_name: str | None
    license_link: str | None
    license_source: str | None
    license_text_sha256: str | None
    access: str
    gated: str | None
    source: str
    repo_id: str | None
    revision: str | None
    local_path: str | None
    task: str | None
    architecture: str | None
    library_name: str | None
    base_models: list[str]
    base_model_relation: str | None
    datasets: list[str]
    has_remote_code: bool
    origin: str
    sources: dict[str, str]
    unconfirmed: list[str]
    card: dict[str, Any]
    created_at: str | None
    updated_at: str | None
    files: list[FileRecord] = field(default_factory=list)
    license_evidence: list[LicenseEvidence] = field(default_factory=list)
    verifications: list[RunRecord] = field(default_factory=list)
    smoke_tests: list[RunRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
