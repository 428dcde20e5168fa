"""runs: verifications and smoke tests recorded per model

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("revision", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("fmcat_version", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"],
            name=op.f("fk_verifications_model_id_models"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
    )
    with op.batch_alter_table("verifications") as batch_op:
        batch_op.create_index(batch_op.f("ix_verifications_model_id"), ["model_id"], unique=False)

    op.create_table(
        "smoke_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("revision", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("device", sa.String(length=40), nullable=True),
        sa.Column("device_name", sa.String(length=200), nullable=True),
        sa.Column("dtype", sa.String(length=20), nullable=True),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("load_seconds", sa.Float(), nullable=True),
        sa.Column("inference_seconds", sa.Float(), nullable=True),
        sa.Column("throughput", sa.Float(), nullable=True),
        sa.Column("throughput_unit", sa.String(length=20), nullable=True),
        sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("output_check", sa.JSON(), nullable=False),
        sa.Column("output_digest", sa.String(length=64), nullable=True),
        sa.Column("trust_remote_code", sa.Boolean(), nullable=False),
        sa.Column("fmcat_version", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"],
            name=op.f("fk_smoke_tests_model_id_models"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smoke_tests")),
    )
    with op.batch_alter_table("smoke_tests") as batch_op:
        batch_op.create_index(batch_op.f("ix_smoke_tests_model_id"), ["model_id"], unique=False)


def downgrade() -> None:
    op.drop_table("smoke_tests")
    op.drop_table("verifications")
