"""The birth date's index in the page's order: (birth date, folded name, id).

"/find 24/11/1974" lists the people born that day by name, ten to a page. About one in 15 000 people is born on
a given day: 130 at 2 million dossiers. The index of the date alone found them all and each was read and sorted
for the page; in the page's order the first ten entries are the page, whatever the table's size.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_dossier_birth_date', table_name='dossier')
    op.create_index('ix_dossier_birth_date', 'dossier', ['birth_date', 'folded_name', 'id'])


def downgrade() -> None:
    op.drop_index('ix_dossier_birth_date', table_name='dossier')
    op.create_index('ix_dossier_birth_date', 'dossier', ['birth_date'])
