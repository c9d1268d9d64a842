"""run resource figures and team cost rates

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('run_resources',
    sa.Column('run_pk', sa.Integer(), nullable=False),
    sa.Column('cpu_hours', sa.Float(), nullable=True),
    sa.Column('gpu_hours', sa.Float(), nullable=True),
    sa.Column('peak_memory_gb', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['run_pk'], ['runs.pk'], name=op.f('fk_run_resources_run_pk_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_pk', name=op.f('pk_run_resources'))
    )
    op.create_table('team_rates',
    sa.Column('team_id', sa.String(length=36), nullable=False),
    sa.Column('cpu_per_hour', sa.Float(), nullable=False),
    sa.Column('gpu_per_hour', sa.Float(), nullable=False),
    sa.Column('memory_per_gb_hour', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_rates_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', name=op.f('pk_team_rates'))
    )


def downgrade() -> None:
    op.drop_table('team_rates')
    op.drop_table('run_resources')
