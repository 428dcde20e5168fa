"""The catalog's schema revisions (Alembic ids, oldest first), in a module that
imports nothing, so the fast read path can check a catalog without SQLAlchemy."""

from __future__ import annotations

SCHEMA_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006")
SCHEMA_HEAD = SCHEMA_REVISIONS[-1]
