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
    pool_size: int = 10
    lock_timeout_ms: int = 5_000
    statement_timeout_ms: int = 30_000
