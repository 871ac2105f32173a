"""The schema as SQLAlchemy Core tables. Alembic migrations are its only source in a database."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from leadcycle.domain.stages import LossReason, SalesVerdict, Stage, Temperature

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, values: type[Stage | Temperature | LossReason | SalesVerdict]) -> CheckConstraint:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_known")


def _timestamp(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


leads = Table(
    "leads",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("company_name", Text, nullable=False),
    Column("company_department", Text),
    Column("company_employee_count", Integer),
    Column("company_capital", Numeric),
    Column("company_industry", Text),
    Column("contact_name", Text, nullable=False),
    Column("contact_email", Text),
    Column("contact_phone", Text),
    Column("contact_title", Text),
    Column("contact_is_decision_maker", Boolean, nullable=False),
    Column("source", String(64), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("temperature", String(8), nullable=False),
    Column("score", Integer, nullable=False),
    Column("bant", JSONB, nullable=False),
    Column("owner_team", Text),
    Column("owner", Text),
    Column("loss_reason", String(16)),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    _timestamp("stage_changed_at"),
    Column("cycle", Integer, nullable=False),
    _timestamp("cycle_started_at"),
    Column("hot_signal", Text),
    Column("feedback", String(16)),
    _timestamp("reached_mql_at", nullable=True),
    _timestamp("reached_opportunity_at", nullable=True),
    Column("score_breakdown", JSONB, nullable=False),
    _one_of("stage", Stage),
    _one_of("temperature", Temperature),
    _one_of("loss_reason", LossReason),
    _one_of("feedback", SalesVerdict),
    Index(None, "created_at", "id"),
    Index(None, "updated_at", "id"),
    Index(None, "score", "id"),
    Index(None, "stage"),
    Index(None, "temperature", "score", postgresql_include=["stage"]),
    Index(None, "source", "created_at"),
    Index(None, "source", "stage"),
    Index(None, "created_at", postgresql_include=["source", "stage", "reached_mql_at", "reached_opportunity_at"]),
    Index(None, "owner_team"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False),
    Column("kind", String(64), nullable=False),
    _timestamp("occurred_at"),
    _timestamp("recorded_at"),
    Column("properties", JSONB, nullable=False),
    Column("points", Integer, nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("rule", Text),
    Index(None, "lead_id", "occurred_at", "id"),
)

lead_history = Table(
    "lead_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False),
    _timestamp("at"),
    Column("kind", String(32), nullable=False),
    Column("actor", Text),
    Column("summary", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Index(None, "lead_id", "at", "id"),
)

# The change log: one row per committed change. `xid` is the writing transaction's id, so a
# reader can tell which rows are final (see change_feed.py). `logged_at` is the database's clock
# at the write, which retention goes by (`at` comes from the use cases' clock, which the demo
# and tests set in the past).
lead_changes = Table(
    "lead_changes",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("xid", BigInteger, nullable=False, server_default=text("(pg_current_xact_id()::text)::bigint")),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("from_stage", String(16)),
    Column("to_stage", String(16)),
    _timestamp("at"),
    Column("actor", Text, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("logged_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index(None, "xid", "id"),
    Index(None, "lead_id", "version"),
    Index(None, "logged_at"),
)

# One row: the newest log position that retention has deleted. Every change after it is still in
# the log, so a cursor at or after it can be resumed from and one before it cannot (change_log.py).
change_log_horizon = Table(
    "change_log_horizon",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("xid", BigInteger, nullable=False),
    Column("change_id", BigInteger, nullable=False),
    _timestamp("pruned_at", nullable=True),
    CheckConstraint("id = 1", name="single_row"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(32), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("lead_id", Uuid, nullable=False),
    _timestamp("created_at"),
    Index(None, "created_at"),
)
