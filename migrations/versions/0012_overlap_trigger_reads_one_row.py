"""overlap trigger reads one row: on SQLite, the triggers refusing overlapping reservations ask only for the
resource's last active reservation starting before the new one ends, instead of every reservation of the resource
starting before it (the clinic's whole history, read on every insert)

Active reservations of one resource never overlap (these triggers see to it), so sorted by start they are sorted
by end too: the new one overlaps some reservation exactly when it overlaps the last one starting before it ends.
That row is one step down the (resource, starts_at) index, however long the clinic's history. PostgreSQL's
exclusion constraints already search a GiST index and are unchanged.

Revision ID: 0012_overlap_trigger_one_row
Revises: 0011_calendar_version
Create Date: 2026-12-06 06:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_overlap_trigger_one_row'
down_revision = '0011_calendar_version'
branch_labels = None
depends_on = None

EVENTS = ('INSERT', 'UPDATE')


def _last_before(resource: str) -> str:
    """The end of the resource's last active reservation (another row) starting before NEW ends."""
    return f"""(NEW.{resource}_id IS NOT NULL AND (
                SELECT r.ends_at FROM reservations r
                WHERE r.active AND r.{resource}_id = NEW.{resource}_id AND r.starts_at < NEW.ends_at
                  AND r.id IS NOT NEW.id
                ORDER BY r.starts_at DESC LIMIT 1) > NEW.starts_at)"""


#: What 0001 asked: every reservation of the resource starting before the new one ends.
EVERY_EARLIER = """NEW.active AND EXISTS (
                SELECT 1 FROM reservations r
                WHERE r.active AND r.id IS NOT NEW.id AND r.starts_at < NEW.ends_at AND NEW.starts_at < r.ends_at
                  AND (r.clinician_id = NEW.clinician_id OR r.chair_id = NEW.chair_id))"""


def _replace_triggers(condition: str) -> None:
    """SQLite's two overlap triggers (insert, update) with a new WHEN; PostgreSQL has its exclusion constraints."""
    if op.get_bind().dialect.name == 'postgresql':
        return
    # Times are fixed-width UTC text (clinic.database.UTCDateTime), so text order is time order.
    for event in EVENTS:
        op.execute(f"DROP TRIGGER reservations_no_overlap_{event.lower()}")
        op.execute(f"""
            CREATE TRIGGER reservations_no_overlap_{event.lower()} BEFORE {event} ON reservations
            WHEN {condition}
            BEGIN SELECT RAISE(ABORT, 'reservation overlaps another'); END""")


def upgrade():
    _replace_triggers(f"NEW.active AND ({_last_before('clinician')} OR {_last_before('chair')})")


def downgrade():
    _replace_triggers(EVERY_EARLIER)
