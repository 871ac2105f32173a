"""Configuration, read from the environment (prefix LEADCYCLE_) by the composition root only."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADCYCLE_", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("LEADCYCLE_DATABASE_URL", "DATABASE_URL"),
        description="Postgres to use; without it an embedded Postgres starts in data_dir.",
    )
    data_dir: Path = Field(default=Path(".leadcycle-data"), description="Where the embedded Postgres keeps its data.")
    host: str = "127.0.0.1"
    port: int = 8000
    graphiql: bool = True
    introspection: bool = True
    cors_origins: list[str] = Field(default_factory=list, description="Browser origins allowed to call the API.")
    max_body_bytes: int = 1024 * 1024
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    pool_size: int = Field(default=20, ge=2, description="Database connections this process holds at most.")
    lock_timeout_ms: int = 5_000
    statement_timeout_ms: int = 30_000
    subscriber_buffer: int = Field(
        default=1000,
        ge=1,
        description="Changes a subscription may have waiting to be sent; beyond it, the subscription ends "
        "with a 'fell behind' error and the client resumes from its last cursor.",
    )
    ws_keep_alive_seconds: float = Field(
        default=15.0,
        ge=0,
        description="graphql-transport-ws ping from the server to every acknowledged connection this often; 0 turns "
        "it off.",
    )
    change_log_retention_days: float = Field(
        default=7, gt=0, description="Changes are kept this long; cursors of older changes cannot be resumed from."
    )
    idempotency_key_retention_hours: float = Field(
        default=24, ge=24, description="Idempotency keys are kept this long (the contract promises at least 24 hours)."
    )
    retention_interval_seconds: float = Field(
        default=600, gt=0, description="How often the retention job prunes the change log and idempotency keys."
    )
    stage_count_fold_interval_seconds: float = Field(
        default=10, gt=0, description="How often the lead count deltas are folded into their totals."
    )
    retention_batch_size: int = Field(default=1000, ge=1, description="Rows one pruning transaction deletes.")
    rescoring_interval_seconds: float = Field(
        default=1, gt=0, description="How often each process looks for rescoring to do after a model activation."
    )
    rescoring_batch_size: int = Field(default=100, ge=1, description="Leads rescoring picks at once.")
    webhook_concurrency: int = Field(default=16, ge=1, description="Webhook posts one process keeps going at once.")
    webhook_max_attempts: int = Field(
        default=10, ge=1, description="Attempts at a webhook delivery before it is dead-lettered."
    )
    webhook_backoff_base_seconds: float = Field(
        default=2.0, gt=0, description="Wait after a webhook delivery's first failure; doubled after each further one."
    )
    webhook_backoff_max_seconds: float = Field(
        default=900.0, gt=0, description="The longest wait between two attempts at a webhook delivery."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a receiver may take to answer a webhook post."
    )
    webhook_poll_seconds: float = Field(
        default=0.5, gt=0, description="How often each process looks for due webhook deliveries when not woken."
    )
    webhook_allow_private_addresses: bool = Field(
        default=False,
        description="Allow webhook URLs whose host resolves to loopback, private, link-local, unspecified or "
        "multicast addresses: for development and tests only (a guard against server-side request forgery).",
    )
    webhook_secret_overlap_hours: float = Field(
        default=24,
        ge=0,
        description="After rotateWebhookSecret, posts are signed with the old secret too for this long; 0: not at all.",
    )
