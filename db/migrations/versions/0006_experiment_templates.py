"""team-scoped experiment templates

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('experiment_templates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('team_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_experiment_templates_team_id_teams'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_templates')),
    sa.UniqueConstraint('team_id', 'name', name=op.f('uq_experiment_templates_team_id'))
    )
    with op.batch_alter_table('experiment_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experiment_templates_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('experiment_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experiment_templates_team_id'))

    op.drop_table('experiment_templates')
