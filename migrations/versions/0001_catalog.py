"""catalog: models, their files and license observations

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("license_declared", sa.String(length=300), nullable=True),
        sa.Column("license_id", sa.String(length=100), nullable=True),
        sa.Column("license_name", sa.String(length=300), nullable=True),
        sa.Column("license_link", sa.String(length=1000), nullable=True),
        sa.Column("license_source", sa.String(length=40), nullable=True),
        sa.Column("license_text_sha256", sa.String(length=64), nullable=True),
        sa.Column("access", sa.String(length=10), nullable=False),
        sa.Column("source_kind", sa.String(length=10), nullable=False),
        sa.Column("repo_id", sa.String(length=300), nullable=True),
        sa.Column("revision", sa.String(length=64), nullable=True),
        sa.Column("local_path", sa.Text(), nullable=True),
        sa.Column("task", sa.String(length=100), nullable=True),
        sa.Column("architecture", sa.String(length=200), nullable=True),
        sa.Column("library_name", sa.String(length=100), nullable=True),
        sa.Column("base_model", sa.String(length=300), nullable=True),
        sa.Column("datasets", sa.JSON(), nullable=False),
        sa.Column("gated", sa.String(length=10), nullable=True),
        sa.Column("has_remote_code", sa.Boolean(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("unconfirmed", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("name", name=op.f("uq_models_name")),
    )
    with op.batch_alter_table("models") as batch_op:
        batch_op.create_index(batch_op.f("ix_models_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_license_id"), ["license_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_repo_id"), ["repo_id"], unique=False)

    op.create_table(
        "model_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("blob_id", sa.String(length=64), nullable=True),
        sa.Column("is_lfs", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"],
            name=op.f("fk_model_files_model_id_models"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_files")),
        sa.UniqueConstraint("model_id", "path", name=op.f("uq_model_files_model_id_path")),
    )
    with op.batch_alter_table("model_files") as batch_op:
        batch_op.create_index(batch_op.f("ix_model_files_model_id"), ["model_id"], unique=False)

    op.create_table(
        "license_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("declared", sa.String(length=300), nullable=True),
        sa.Column("license_id", sa.String(length=100), nullable=True),
        sa.Column("text_sha256", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"],
            name=op.f("fk_license_observations_model_id_models"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_observations")),
    )
    with op.batch_alter_table("license_observations") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_license_observations_model_id"), ["model_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("license_observations")
    op.drop_table("model_files")
    op.drop_table("models")
