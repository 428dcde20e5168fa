"""The catalog schema: SQLAlchemy 2 ORM models.

The schema is changed only through Alembic migrations in ``migrations/``; a
test checks that these models and the migrations agree. All times are UTC.
ORM objects stay inside the data layer: commands turn them into typed records
before anything is rendered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Naive UTC, the form every backend stores and returns alike."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: DateTime(),
    }


class Model(Base):
    """One catalog entry: a foundation model as the organisation knows it."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # catalog key: the Hub repo id where there is one, else provider/model
    name: Mapped[str] = mapped_column(String(300), unique=True)
    # model_key of the name and the repo id: how lineage and waivers compare models (any case,
    # any spelling add accepts), indexed so one model's answer stays instant in a huge catalog
    name_key: Mapped[str | None] = mapped_column(String(300), index=True)
    repo_key: Mapped[str | None] = mapped_column(String(300), index=True)
    display_name: Mapped[str | None] = mapped_column(String(300))
    provider: Mapped[str | None] = mapped_column(String(200))
    # derived from license_id through the license knowledge base, stored for filtering
    category: Mapped[str] = mapped_column(String(20), index=True)
    license_declared: Mapped[str | None] = mapped_column(String(300))
    license_id: Mapped[str | None] = mapped_column(String(100), index=True)
    license_name: Mapped[str | None] = mapped_column(String(300))
    license_link: Mapped[str | None] = mapped_column(String(1000))
    # curated | card | license-file | tags | user | import
    license_source: Mapped[str | None] = mapped_column(String(40))
    license_text_sha256: Mapped[str | None] = mapped_column(String(64))
    access: Mapped[str] = mapped_column(String(10))  # api | open | gated
    source_kind: Mapped[str] = mapped_column(String(10))  # hub | local | api | none
    repo_id: Mapped[str | None] = mapped_column(String(300), index=True)
    revision: Mapped[str | None] = mapped_column(String(64))  # pinned commit sha
    local_path: Mapped[str | None] = mapped_column(Text)
    task: Mapped[str | None] = mapped_column(String(100))
    architecture: Mapped[str | None] = mapped_column(String(200))
    library_name: Mapped[str | None] = mapped_column(String(100))
    base_models: Mapped[list[Any]] = mapped_column(default=list)  # repo ids; several for a merge
    base_model_relation: Mapped[str | None] = mapped_column(String(20))  # adapter | finetune | quantized | merge
    datasets: Mapped[list[Any]] = mapped_column(default=list)
    gated: Mapped[str | None] = mapped_column(String(10))  # auto | manual
    has_remote_code: Mapped[bool] = mapped_column(Boolean, default=False)
    card: Mapped[dict[str, Any]] = mapped_column(default=dict)  # card metadata as read
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> source of the fact
    unconfirmed: Mapped[list[Any]] = mapped_column(default=list)  # facts not confirmed
    origin: Mapped[str] = mapped_column(String(20))  # curated | user | import
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    files: Mapped[list[ModelFile]] = relationship(
        back_populates="model", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ModelFile.path", lazy="raise_on_sql",
    )
    license_observations: Mapped[list[LicenseObservation]] = relationship(
        back_populates="model", cascade="all, delete-orphan", passive_deletes=True,
        order_by="LicenseObservation.id", lazy="raise_on_sql",
    )
    verifications: Mapped[list[Verification]] = relationship(
        back_populates="model", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Verification.id", lazy="raise_on_sql",
    )
    smoke_tests: Mapped[list[SmokeTest]] = relationship(
        back_populates="model", cascade="all, delete-orphan", passive_deletes=True,
        order_by="SmokeTest.id", lazy="raise_on_sql",
    )


class ModelFile(Base):
    """A file of the pinned revision, with the hash it must have."""

    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("model_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # LFS files, or computed locally
    blob_id: Mapped[str | None] = mapped_column(String(64))  # git blob sha1
    is_lfs: Mapped[bool] = mapped_column(Boolean, default=False)
    # format facts of the file itself: a GGUF file's quantisation, architecture, license, base models
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    model: Mapped[Model] = relationship(back_populates="files")


class LicenseObservation(Base):
    """What one source said about a model's license, at one time and revision."""

    __tablename__ = "license_observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    observed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revision: Mapped[str | None] = mapped_column(String(64))
    # curated | card | license-file | tags | user | import | sync
    source: Mapped[str] = mapped_column(String(40))
    declared: Mapped[str | None] = mapped_column(String(300))
    license_id: Mapped[str | None] = mapped_column(String(100))
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    model: Mapped[Model] = relationship(back_populates="license_observations")


class Verification(Base):
    """One `fmcat verify` of a model's files: per-file outcomes and the verdict."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    revision: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))  # passed | failed
    summary: Mapped[str | None] = mapped_column(Text)
    files: Mapped[list[Any]] = mapped_column(default=list)  # [{path, status, reason}]
    fmcat_version: Mapped[str | None] = mapped_column(String(40))

    model: Mapped[Model] = relationship(back_populates="verifications")


class SmokeTest(Base):
    """One `fmcat smoke-test` run of a model: where, with what, and what came out."""

    __tablename__ = "smoke_tests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    revision: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))  # passed | failed | skipped
    reason: Mapped[str | None] = mapped_column(Text)
    device: Mapped[str | None] = mapped_column(String(40))
    device_name: Mapped[str | None] = mapped_column(String(200))
    dtype: Mapped[str | None] = mapped_column(String(20))
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    load_seconds: Mapped[float | None] = mapped_column(Float)
    inference_seconds: Mapped[float | None] = mapped_column(Float)
    throughput: Mapped[float | None] = mapped_column(Float)
    throughput_unit: Mapped[str | None] = mapped_column(String(20))
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    output_check: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output_digest: Mapped[str | None] = mapped_column(String(64))
    trust_remote_code: Mapped[bool] = mapped_column(Boolean, default=False)
    fmcat_version: Mapped[str | None] = mapped_column(String(40))
    node: Mapped[str | None] = mapped_column(String(200))  # the machine that ran it (a Ray node), when not this one

    model: Mapped[Model] = relationship(back_populates="smoke_tests")
