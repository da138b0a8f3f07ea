"""Settings from the environment (and `.env`), validated by pydantic-settings."""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.shipped import shipped_dir

SHIPPED_QUESTIONS = shipped_dir("questions")


DEFAULT_MODEL = "claude-sonnet-5-5"


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    input: float
    cache_write: float
    cache_read: float
    output: float


# List prices per million tokens, used only to estimate cost; set OPSDRILL_PRICES (JSON, keyed by
# model-id prefix) to match your own agreement.
DEFAULT_PRICES = {
    "claude-opus": ModelPrice(input=5.0, cache_write=6.25, cache_read=0.5, output=25.0),
    "claude-sonnet": ModelPrice(input=3.0, cache_write=3.75, cache_read=0.3, output=15.0),
    "claude-haiku": ModelPrice(input=1.0, cache_write=1.25, cache_read=0.1, output=5.0),
}


class Settings(BaseSettings):
    """Everything OpsDrill reads from its environment. Secrets are `SecretStr`: never logged."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field("sqlite:///./opsdrill.db", validation_alias="DATABASE_URL")
    grader: Literal["auto", "offline", "anthropic"] = Field(
        "auto", validation_alias="OPSDRILL_GRADER"
    )
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="OPSDRILL_ADMINS"
    )
    questions_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("OPSDRILL_QUESTIONS_DIR", "OPSDRILL_QUESTIONS_DIRS"),
    )
    default_timezone: str = Field("UTC", validation_alias="OPSDRILL_TIMEZONE")
    default_post_time: time = Field(time(9, 0), validation_alias="OPSDRILL_POST_TIME")
    default_window_hours: float = Field(8.0, gt=0, le=24, validation_alias="OPSDRILL_WINDOW_HOURS")
    weekday_plan: str = Field(
        "mon:foundation,fri:system-design", validation_alias="OPSDRILL_WEEKDAY_PLAN"
    )
    grading_workers: int = Field(16, ge=1, le=32, validation_alias="OPSDRILL_GRADING_WORKERS")
    """Jobs the offline grader takes at once (a batch); the LLM grader's are set by the next."""
    llm_concurrency: int = Field(16, ge=1, le=256, validation_alias="OPSDRILL_LLM_CONCURRENCY")
    """LLM calls in flight at most; halved when the API says it is overloaded (429, 529), then
    grown back by about one per round of successful calls."""
    grading_lease: float = Field(60.0, ge=1, le=3600, validation_alias="OPSDRILL_GRADING_LEASE")
    """Seconds a grading worker holds a job (renewed while it grades): how long a job, or its
    feedback, waits when the worker holding it died."""
    regrade_after: float = Field(300.0, gt=0, le=86400, validation_alias="OPSDRILL_REGRADE_AFTER")
    """Seconds before a provisional grade (the AI grader was down) is first graded again; each
    later try waits twice as long."""
    reveal_grace: float = Field(600.0, ge=0, le=86400, validation_alias="OPSDRILL_REVEAL_GRACE")
    """Seconds a closed round's reveal waits at most for answers still being graded."""
    post_concurrency: int = Field(100, ge=1, le=1000, validation_alias="OPSDRILL_POST_CONCURRENCY")
    """Questions being posted at once when many channels are due together (each channel still
    gets one post at a time)."""
    edit_quiet: float = Field(60.0, ge=0, le=3600, validation_alias="OPSDRILL_EDIT_QUIET")
    """Seconds an edited answer waits, without a further edit, before it is graded again: a
    burst of edits costs one grading (one LLM call), not one per edit."""
    discord_join_window: float = Field(
        45.0, ge=0, le=600, validation_alias="OPSDRILL_DISCORD_JOIN_WINDOW"
    )
    """Seconds after a person's message in a round's thread on Discord (2,000 characters at
    most) within which their next one is joined into the same answer; the answer is graded
    once this long after its last part (`0`: every message stands alone)."""
    round_daily_cap: int = Field(10, ge=0, le=1000, validation_alias="OPSDRILL_ROUND_DAILY_CAP")
    """Round answers graded by the LLM per person per UTC day; later ones that day get the
    offline grade, marked as such (`0`: all offline)."""
    mock_daily_cap: int = Field(3, ge=0, le=100, validation_alias="OPSDRILL_MOCK_DAILY_CAP")
    """Mock interviews graded by an LLM that one person may start per UTC day."""
    log_level: str = Field("INFO", validation_alias="OPSDRILL_LOG_LEVEL")
    heartbeat_file: Path = Field(
        Path("/tmp/opsdrill.heartbeat"), validation_alias="OPSDRILL_HEARTBEAT_FILE"
    )

    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
    model: str = Field(DEFAULT_MODEL, validation_alias="OPSDRILL_MODEL")
    grader_timeout: float = Field(60.0, gt=0, validation_alias="OPSDRILL_GRADER_TIMEOUT")
    grader_retries: int = Field(3, ge=0, le=10, validation_alias="OPSDRILL_GRADER_RETRIES")
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES), validation_alias="OPSDRILL_PRICES"
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")
    slack_api_url: str | None = Field(None, validation_alias="SLACK_API_URL")
    slack_rate_limits: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, validation_alias="SLACK_RATE_LIMITS"
    )
    """Calls a minute per Web API method and workspace (chat.postMessage: per channel), in
    place of Slack's tiers, e.g. `{"reactions.add": 100}`."""

    discord_token: SecretStr | None = Field(None, validation_alias="DISCORD_TOKEN")
    discord_api_url: str | None = Field(None, validation_alias="DISCORD_API_URL")
    discord_sync_commands: bool = Field(False, validation_alias="DISCORD_SYNC_COMMANDS")
    discord_sync_guild: int | None = Field(None, validation_alias="DISCORD_SYNC_GUILD")
    discord_shards: int | None = Field(None, ge=0, validation_alias="DISCORD_SHARDS")
    """0 lets Discord choose the shard count (AutoShardedBot); unset runs one connection."""
    discord_shard_count: int | None = Field(
        None, ge=1, le=10_000, validation_alias="DISCORD_SHARD_COUNT"
    )
    """The bot's total number of shards when replicas share them out (with DISCORD_SHARD_IDS)."""
    discord_shard_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias="DISCORD_SHARD_IDS"
    )
    """The shards this replica runs, e.g. `0,1` on one replica and `2,3` on another."""
    discord_application_id: int | None = Field(None, validation_alias="DISCORD_APPLICATION_ID")

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]
        return value

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _split_shards(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in re.split(r"[,\s]+", value) if part.strip()]
        return value

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.discord_shard_ids:
            if self.discord_shard_count is None:
                raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total)")
            outside = [i for i in self.discord_shard_ids if not 0 <= i < self.discord_shard_count]
            if outside:
                raise ValueError(
                    f"DISCORD_SHARD_IDS {outside} are outside 0..{self.discord_shard_count - 1}"
                )
        return self

    @field_validator("questions_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(p) for p in value.split(os.pathsep) if p.strip()]
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("weekday_plan")
    @classmethod
    def _readable_plan(cls, value: str) -> str:
        from bot.questions.rotation import parse_plan

        parse_plan(value)
        return value

    @property
    def bank_dirs(self) -> list[Path]:
        """The shipped bank first, then team banks, which override shipped questions by id."""
        return [SHIPPED_QUESTIONS, *self.questions_dirs]

    def price_for(self, model: str) -> ModelPrice | None:
        """The price entry whose key is the longest prefix of `model`."""
        keys = sorted((k for k in self.prices if model.startswith(k)), key=len, reverse=True)
        return self.prices[keys[0]] if keys else None

    def is_listed_admin(self, platform: str, user_id: str) -> bool:
        """`OPSDRILL_ADMINS` entries are user ids, optionally as `platform:user_id`."""
        return user_id in self.admins or f"{platform}:{user_id}" in self.admins
