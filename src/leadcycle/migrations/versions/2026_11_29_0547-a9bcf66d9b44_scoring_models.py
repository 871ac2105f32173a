"""Scoring models stored and versioned; every lead says which version produced its score.

`rescoring_runs` records the progress of rescoring every lead after an activation;
`leads.review_at` is when time alone (decay, windows) next changes a lead's temperature.

Version 1 is the model the service scored with until now (a frozen copy of it: later changes to
the code's default do not change what this migration seeds), and it is active. Every existing
lead was scored by it.

Revision ID: a9bcf66d9b44
Revises: 6397d81edf33
Create Date: 2026-11-29 05:47:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "a9bcf66d9b44"
down_revision: str | None = "6397d81edf33"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSION_1_RULES = [
    {
        "type": "activity",
        "name": "activity.email_open",
        "points": 1,
        "when": {},
        "activity": "email_open",
        "immediateHot": False,
    },
    {
        "type": "activity",
        "name": "activity.email_click",
        "points": 3,
        "when": {},
        "activity": "email_click",
        "immediateHot": False,
    },
    {
        "type": "activity",
        "name": "activity.web_visit",
        "points": 1,
        "when": {},
        "activity": "web_visit",
        "immediateHot": False,
    },
    {
        "type": "activity",
        "name": "activity.pricing_page_view",
        "points": 5,
        "when": {},
        "activity": "pricing_page_view",
        "immediateHot": False,
    },
    {
        "type": "activity",
        "name": "activity.document_download",
        "points": 5,
        "when": {},
        "activity": "document_download",
        "immediateHot": False,
    },
    {
        "type": "activity",
        "name": "activity.webinar_attended",
        "points": 10,
        "when": {},
        "activity": "webinar_attended",
        "immediateHot": False,
    },
    {
        "type": "activity",
        "name": "activity.inquiry",
        "points": 15,
        "when": {},
        "activity": "inquiry",
        "immediateHot": False,
    },
    {
        "type": "activity",
        "name": "activity.quote_request",
        "points": 20,
        "when": {},
        "activity": "quote_request",
        "immediateHot": True,
    },
    {
        "type": "activity",
        "name": "activity.demo_request",
        "points": 20,
        "when": {},
        "activity": "demo_request",
        "immediateHot": True,
    },
    {
        "type": "activity",
        "name": "activity.trial_signup",
        "points": 20,
        "when": {},
        "activity": "trial_signup",
        "immediateHot": True,
    },
    {
        "type": "activity",
        "name": "activity.consultation_request",
        "points": 20,
        "when": {},
        "activity": "consultation_request",
        "immediateHot": True,
    },
    {
        "type": "activity",
        "name": "activity.survey_answer.buy_now",
        "points": 20,
        "when": {"intent": {"eq": "buy_now"}},
        "activity": "survey_answer",
        "immediateHot": True,
    },
    {
        "type": "attribute",
        "name": "contact.decision_maker",
        "points": 10,
        "when": {"contact.isDecisionMaker": {"eq": True}},
        "description": "The contact is a decision maker",
    },
    {
        "type": "attribute",
        "name": "company.employees_1000_plus",
        "points": 10,
        "when": {"company.employeeCount": {"gte": 1000}},
        "description": "The company has 1,000 employees or more",
    },
    {
        "type": "attribute",
        "name": "company.capital_50b_jpy_plus",
        "points": 10,
        "when": {"company.capital": {"gte": 50000000000}},
        "description": "The company's capital is 50 billion JPY or more",
    },
    {
        "type": "attribute",
        "name": "bant.target_date_over_a_year",
        "points": -10,
        "when": {"bant.targetDate": {"monthsAwayOver": 12}},
        "description": "The target date is more than a year away",
    },
]
VERSION_1 = {"warmThreshold": 20, "hotThreshold": 50, "halfLifeDays": None, "rules": VERSION_1_RULES}


def upgrade() -> None:
    models = op.create_table(
        "scoring_models",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("definition", JSONB(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('DRAFT', 'ACTIVE', 'RETIRED')", name=op.f("ck_scoring_models_status_known")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_scoring_models")),
    )
    op.create_index(
        "uq_scoring_models_one_active",
        "scoring_models",
        [sa.text("(true)")],
        unique=True,
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.execute(
        sa.insert(models).values(
            version=1,
            status="ACTIVE",
            definition=VERSION_1,
            note="The model in force before models were stored",
            created_at=sa.func.now(),
            created_by="system",
            activated_at=sa.func.now(),
            activated_by="system",
        )
    )
    # A constant default is stored once in the catalogue: no table rewrite.
    op.add_column("leads", sa.Column("scoring_model_version", sa.Integer(), server_default="1", nullable=False))
    op.alter_column("leads", "scoring_model_version", server_default=None)
    op.create_foreign_key(
        op.f("fk_leads_scoring_model_version_scoring_models"),
        "leads",
        "scoring_models",
        ["scoring_model_version"],
        ["version"],
    )
    op.create_index(op.f("ix_leads_scoring_model_version"), "leads", ["scoring_model_version"], unique=False)
    # When time alone next changes the lead's temperature; null (never) under version 1, which has no decay.
    op.add_column("leads", sa.Column("review_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        op.f("ix_leads_review_at"),
        "leads",
        ["review_at"],
        unique=False,
        postgresql_where=sa.text("review_at IS NOT NULL"),
    )
    op.create_table(
        "rescoring_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("rescored", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('RUNNING', 'DONE', 'SUPERSEDED')", name=op.f("ck_rescoring_runs_state_known")),
        sa.ForeignKeyConstraint(
            ["model_version"],
            ["scoring_models.version"],
            name=op.f("fk_rescoring_runs_model_version_scoring_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rescoring_runs")),
    )
    op.create_index(op.f("ix_rescoring_runs_model_version_id"), "rescoring_runs", ["model_version", "id"], unique=False)
    op.create_index(
        "uq_rescoring_runs_one_running",
        "rescoring_runs",
        [sa.text("(true)")],
        unique=True,
        postgresql_where=sa.text("state = 'RUNNING'"),
    )


def downgrade() -> None:
    op.drop_table("rescoring_runs")
    op.drop_index(op.f("ix_leads_review_at"), table_name="leads")
    op.drop_column("leads", "review_at")
    op.drop_index(op.f("ix_leads_scoring_model_version"), table_name="leads")
    op.drop_constraint(op.f("fk_leads_scoring_model_version_scoring_models"), "leads", type_="foreignkey")
    op.drop_column("leads", "scoring_model_version")
    op.drop_index("uq_scoring_models_one_active", table_name="scoring_models")
    op.drop_table("scoring_models")
