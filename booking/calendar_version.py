"""The calendar's version: a number in the database that grows, in the same transaction, with every committed change
to what availability is computed from. Each gunicorn worker process keeps its own cache of free time
(booking.free_days) keyed by it, so a change made through any process reaches every process's next request.

The number is bumped by one UPDATE just before the commit (never earlier: the row's lock is then held for the
commit alone, and no lock is taken after it, so bookings neither queue on it for long nor deadlock on it). Writers
serialise on that row, so versions follow commit order: a reader that sees version N has data at least as new as
N, which is all a cache keyed by N needs. Changes are noticed however they are made through a session: ORM objects
added, changed or deleted, and bulk INSERT, UPDATE or DELETE statements on the tables that matter.
"""
from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

#: What availability is read from (booking.schedule, clinic.settings): reservations and the appointments whose
#: status and holds decide which reservations count, hours, closures, resources, services and settings.
TABLES = frozenset({"reservations", "appointments", "clinician_hours", "closures", "chairs", "clinicians",
                    "services", "service_clinicians", "clinic_settings", "opening_hours"})
CHANGED = "booking.calendar_version.changed"
_READ = text("SELECT n FROM calendar_version WHERE id = 1")
_BUMP = text("INSERT INTO calendar_version (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = calendar_version.n + 1")


def current(session: Session) -> int | None:
    """The committed version, or None when the row is missing (a database emptied by hand): then nothing is cached.
    Read before the data it keys, so that data is at least as new."""
    return session.execute(_READ).scalar()


@event.listens_for(Session, "before_flush")
def _note_objects(session: Session, _context, _instances) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(instance, "__tablename__", None)
        if table in TABLES:
            session.info[CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_statements(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in TABLES:
        state.session.info[CHANGED] = True


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the request's own commit bumps
    session.flush()  # what is still pending must be noticed before deciding
    if session.info.pop(CHANGED, False):
        session.execute(_BUMP)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back transaction changed nothing: its note must not bump the next one's version (harmless, but
    every cache would be dropped for nothing)."""
    if transaction.parent is None:
        session.info.pop(CHANGED, None)
