"""model keys: each model's name and repo id as lineage compares them (``model_key``:
``org/name``, ``hf://org/name@rev`` and Hub URLs alike, in any case), stored and
indexed so that one model's answer stays instant in a catalog of a million

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from urllib.parse import urlparse

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_models = sa.table(
    "models",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.String(300)),
    sa.column("repo_id", sa.String(300)),
    sa.column("name_key", sa.String(300)),
    sa.column("repo_key", sa.String(300)),
)


def _key(ref: str) -> str:
    """fmcat.entries.model_key as of this revision (a migration does not follow later code)."""
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
    return raw.partition("@")[0].strip().strip("/").lower()


def upgrade() -> None:
    with op.batch_alter_table("models") as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("repo_key", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_models_name_key", ["name_key"])
        batch_op.create_index("ix_models_repo_key", ["repo_key"])
    conn = op.get_bind()
    rows = conn.execute(sa.select(_models.c.id, _models.c.name, _models.c.repo_id)).all()
    update = (_models.update().where(_models.c.id == sa.bindparam("mid"))
              .values(name_key=sa.bindparam("nk"), repo_key=sa.bindparam("rk")))
    for start in range(0, len(rows), 10_000):  # executemany: a large catalog upgrades in seconds
        conn.execute(update, [{"mid": model_id, "nk": _key(name), "rk": _key(repo_id) if repo_id else None}
                              for model_id, name, repo_id in rows[start:start + 10_000]])


def downgrade() -> None:
    with op.batch_alter_table("models") as batch_op:
        batch_op.drop_index("ix_models_repo_key")
        batch_op.drop_index("ix_models_name_key")
        batch_op.drop_column("repo_key")
        batch_op.drop_column("name_key")
