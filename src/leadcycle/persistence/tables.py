"""The schema as SQLAlchemy Core tables. Alembic migrations are its only source in a database."""

from typing import Any

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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from leadcycle.domain.scoring_models import ModelStatus, RunState
from leadcycle.domain.stages import LossReason, SalesVerdict, Stage, Temperature
from leadcycle.domain.webhooks import DeliveryStatus

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(
    column: str, values: type[Stage | Temperature | LossReason | SalesVerdict | ModelStatus | RunState | DeliveryStatus]
) -> CheckConstraint:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_known")


def _timestamp(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


# Scoring model versions: definitions never change once stored; exactly one is ACTIVE.
scoring_models = Table(
    "scoring_models",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("status", String(8), nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("note", Text),
    _timestamp("created_at"),
    Column("created_by", Text, nullable=False),
    _timestamp("activated_at", nullable=True),
    Column("activated_by", Text),
    _one_of("status", ModelStatus),
    Index("uq_scoring_models_one_active", text("(true)"), unique=True, postgresql_where=text("status = 'ACTIVE'")),
)

# Rescoring after an activation: one row per run, at most one RUNNING. The leads still to do
# are those whose scoring_model_version differs from the run's (indexed); the counts are progress.
rescoring_runs = Table(
    "rescoring_runs",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("model_version", Integer, ForeignKey("scoring_models.version"), nullable=False),
    Column("state", String(12), nullable=False),
    Column("total", Integer, nullable=False),
    Column("rescored", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    _timestamp("started_at"),
    Column("started_by", Text, nullable=False),
    _timestamp("finished_at", nullable=True),
    _one_of("state", RunState),
    Index(None, "model_version", "id"),
    Index("uq_rescoring_runs_one_running", text("(true)"), unique=True, postgresql_where=text("state = 'RUNNING'")),
)

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
    Column("scoring_model_version", Integer, ForeignKey("scoring_models.version"), nullable=False),
    _timestamp("review_at", nullable=True),
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
    Index(None, "scoring_model_version"),
    Index(None, "review_at", postgresql_where=text("review_at IS NOT NULL")),
)

# lower() of each lead's searched columns, and its source and stage, kept by triggers on leads
# (migration a4c7e9b2d5f8): counts with `search`, alone or with `sources` and
# `stages`, read this narrow table instead of the wide leads rows, which took 250 to 310 ms at
# 1,000,000 leads for a term matching 5% of them. Pages still filter leads. No index on source or
# stage: a transition's update of stage here stays HOT.
lead_search = Table(
    "lead_search",
    metadata,
    Column("lead_id", Uuid, ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True),
    Column("company", Text, nullable=False),
    Column("contact", Text, nullable=False),
    Column("email", Text),
    Column("source", String(64), nullable=False),
    Column("stage", String(16), nullable=False),
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

# Webhooks (persistence/webhooks.py). The change log is the outbox: one dispatcher at a time reads
# it in commit-safe order from `webhook_dispatch` and writes a delivery per matching endpoint.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", Text, nullable=False),
    Column("kinds", ARRAY(String(16)), nullable=False),
    Column("stages", ARRAY(String(16)), nullable=False),
    Column("secret", Text, nullable=False),
    Column("paused", Boolean, nullable=False),
    Column("created_by", Text, nullable=False),
    _timestamp("created_at"),
    # After rotateWebhookSecret the replaced secret also signs posts until it expires.
    Column("previous_secret", Text),
    _timestamp("previous_secret_expires_at", nullable=True),
    CheckConstraint(
        "(previous_secret IS NULL) = (previous_secret_expires_at IS NULL)", name="previous_secret_with_expiry"
    ),
)

_UNFINISHED = "status IN ('PENDING', 'IN_FLIGHT')"

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    Column("endpoint_id", Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("lead_id", Uuid, nullable=False),
    Column("change_xid", BigInteger, nullable=False),
    Column("change_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    _timestamp("next_attempt_at"),
    Column("last_error", Text),
    Column("last_status_code", Integer),
    _timestamp("created_at"),
    _timestamp("delivered_at", nullable=True),
    _one_of("status", DeliveryStatus),
    Index(None, "endpoint_id", "change_xid", "change_id", unique=True),
    Index(None, "endpoint_id", "seq"),
    Index(None, "next_attempt_at", postgresql_where=text(_UNFINISHED)),
    Index(None, "delivered_at", postgresql_where=text("status = 'DELIVERED'")),
    Index(
        "ix_webhook_deliveries_unfinished_per_lead",
        "endpoint_id",
        "lead_id",
        "change_xid",
        "change_id",
        postgresql_where=text(_UNFINISHED),
    ),
)

# One row: the log position up to which changes were turned into deliveries.
webhook_dispatch = Table(
    "webhook_dispatch",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("xid", BigInteger, nullable=False),
    Column("change_id", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)


# Lead counts kept by the writes (persistence/kept_counts.py), by (source, stage, reached MQL,
# reached opportunity): the folded totals, and the append-only changes to them since the last
# fold; a key's count is its total plus its deltas.
def _count_key(*, primary_key: bool) -> list[Column[Any]]:
    return [
        Column("source", String(64), primary_key=primary_key, nullable=False),
        Column("stage", String(16), primary_key=primary_key, nullable=False),
        Column("reached_mql", Boolean, primary_key=primary_key, nullable=False),
        Column("reached_opportunity", Boolean, primary_key=primary_key, nullable=False),
    ]


lead_counts = Table("lead_counts", metadata, *_count_key(primary_key=True), Column("count", BigInteger, nullable=False))
lead_count_deltas = Table(
    "lead_count_deltas",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    *_count_key(primary_key=False),
    Column("delta", Integer, nullable=False),
)
