"""run stream stats

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:12:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trawl.domain.db


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("stream_accepted", "stream_rejected", "stream_duplicates", "stream_bytes")


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        for name in COUNTERS:
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            )
        batch_op.add_column(
            sa.Column("stream_complete_attempt", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("stream_updated_at", trawl.domain.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("dataset_ready_at", trawl.domain.db.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("dataset_ready_at")
        batch_op.drop_column("stream_updated_at")
        batch_op.drop_column("stream_complete_attempt")
        for name in reversed(COUNTERS):
            batch_op.drop_column(name)
