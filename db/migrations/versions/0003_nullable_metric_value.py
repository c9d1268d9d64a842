"""metric_points.value may be NULL: SQLite stores a NaN as NULL (MLflow clients log NaN metrics)

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('metric_points', schema=None) as batch_op:
        batch_op.alter_column('value', existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM metric_points WHERE value IS NULL")
    with op.batch_alter_table('metric_points', schema=None) as batch_op:
        batch_op.alter_column('value', existing_type=sa.Float(), nullable=False)
