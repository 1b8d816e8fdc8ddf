"""report destinations

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trawl.domain.db


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_destinations",
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("medium", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("compression", sa.String(length=8), nullable=False),
        sa.Column("file_name_template", sa.String(length=255), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("secret_names", sa.String(length=255), nullable=False),
        sa.Column("updated_at", trawl.domain.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", trawl.domain.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_destinations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_destinations_organization_id"),
            ["organization_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_report_destinations_report", ["report_id", "position"], unique=False
        )


def downgrade() -> None:
    # Its indexes go with it (MariaDB refuses to drop one a foreign key needs).
    op.drop_table("report_destinations")
