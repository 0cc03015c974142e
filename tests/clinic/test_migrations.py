"""The migrations build exactly the models' schema, on SQLite and PostgreSQL alike (the fixture decides which),
and the database itself keeps the audit log append-only."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from clinic import create_app
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import AuditEvent


@pytest.fixture
def empty_database_url(database_url, tmp_path) -> str:
    """A database with nothing in it: a new SQLite file, or the test PostgreSQL database with its schema dropped
    (the upgrade in the test puts back exactly what the session's template had)."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return database_url


@pytest.fixture
def bare_app(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "test"})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_drift() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrading_an_empty_database_gives_exactly_the_models_schema(bare_app):
    assert inspect(db.engine).get_table_names() == []

    upgrade()

    assert set(inspect(db.engine).get_table_names()) == set(db.metadata.tables) | {"alembic_version"}
    assert schema_drift() == []


def test_drift_check_notices_a_schema_the_models_do_not_describe(bare_app):
    upgrade()
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE chairs ADD COLUMN colour VARCHAR(20)"))
        conn.execute(text("CREATE INDEX ix_chairs_name_extra ON chairs (name)"))

    found = {(change[0], getattr(change[-1], "name", None)) for change in schema_drift()}
    assert found == {("remove_column", "colour"), ("remove_index", "ix_chairs_name_extra")}


def test_downgrade_to_nothing_and_back_again(bare_app):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

    upgrade()
    assert schema_drift() == []


def test_database_refuses_overlapping_reservations_by_name(bare_app):
    """The guard the booking engine relies on is part of the migrated schema, not only of the models."""
    upgrade()
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            found = conn.execute(text("SELECT conname FROM pg_constraint WHERE contype = 'x'")).scalars().all()
            assert sorted(found) == ["no_chair_overlap", "no_clinician_overlap"]
        else:
            found = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
            assert {"reservations_no_overlap_insert", "reservations_no_overlap_update"} <= set(found)


# --- the audit log -------------------------------------------------------------------------------------------------

def test_audit_log_refuses_update_and_delete(app):
    with app.app_context():
        db.session.add(AuditEvent(action="view", record_type="patient", record_id=1, at=utcnow(), ip="127.0.0.1"))
        db.session.commit()

        for statement in ("UPDATE audit_events SET action = 'nothing-to-see'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()

        assert db.session.scalars(text("SELECT action FROM audit_events")).all() == ["view"]


def test_audit_log_still_takes_new_events(app):
    with app.app_context():
        for action in ("login", "view", "export"):
            db.session.add(AuditEvent(action=action, at=utcnow()))
            db.session.commit()

        assert db.session.scalars(text("SELECT action FROM audit_events ORDER BY id")).all() == ["login", "view", "export"]
