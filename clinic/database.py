"""Database building blocks shared by every domain package."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, MetaData
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

# Named constraints so that Alembic can drop and alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """An instant, always handed back as an aware UTC datetime.

    SQLAlchemy's ``DateTime(timezone=True)`` silently drops the offset on SQLite, so a naive value
    would come back and be mistaken for local time. Here every value is converted to UTC on the way
    in (naive input is refused: it is a bug, not a guess to make) and stored naive-UTC on SQLite,
    where SQLAlchemy's fixed-width text format also keeps lexical order equal to time order (the
    overlap triggers rely on that). PostgreSQL keeps ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class epoch_micros(FunctionElement):
    """A UTCDateTime column as whole microseconds since the epoch, computed by the database: reading thousands
    of instants this way skips parsing each into an aware datetime (see booking.slots.micros)."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_micros"


@compiles(epoch_micros, "sqlite")
def _epoch_micros_sqlite(element, compiler, **kw):
    # Stored as fixed-width naive-UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds, then the digits after the dot.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 + CAST(substr({column}, 21, 6) AS INTEGER))"


@compiles(epoch_micros, "postgresql")
def _epoch_micros_postgresql(element, compiler, **kw):
    # EXTRACT gives an exact numeric (PostgreSQL 14 and later), so the microseconds survive the cast.
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) * 1000000 AS BIGINT)"
