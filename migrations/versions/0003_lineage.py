"""lineage: every base model of a merge, and how the model derives from them

``base_model`` (one repo id) becomes ``base_models`` (a list: a merge names
several) beside ``base_model_relation`` (adapter, finetune, quantized, merge).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_models = sa.table(
    "models",
    sa.column("id", sa.Integer()),
    sa.column("base_model", sa.String(300)),
    sa.column("base_models", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("models") as batch_op:
        batch_op.add_column(sa.Column("base_models", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("base_model_relation", sa.String(length=20), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_models.c.id, _models.c.base_model)).all()
    for model_id, base in rows:
        conn.execute(_models.update().where(_models.c.id == model_id).values(base_models=[base] if base else []))
    with op.batch_alter_table("models") as batch_op:
        batch_op.alter_column("base_models", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("base_model")


def downgrade() -> None:
    with op.batch_alter_table("models") as batch_op:
        batch_op.add_column(sa.Column("base_model", sa.String(length=300), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_models.c.id, _models.c.base_models)).all()
    for model_id, bases in rows:
        if isinstance(bases, str):  # some drivers hand JSON back as text
            bases = json.loads(bases)
        first = bases[0] if bases else None
        conn.execute(_models.update().where(_models.c.id == model_id).values(base_model=first))
    with op.batch_alter_table("models") as batch_op:
        batch_op.drop_column("base_model_relation")
        batch_op.drop_column("base_models")
