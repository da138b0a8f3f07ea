"""Settings from the environment (and `.env`), validated by pydantic-settings."""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SHIPPED_QUESTIONS = Path(__file__).resolve().parent.parent / "questions"


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
    grading_workers: int = Field(2, ge=1, le=32, validation_alias="OPSDRILL_GRADING_WORKERS")
    log_level: str = Field("INFO", validation_alias="OPSDRILL_LOG_LEVEL")
    heartbeat_file: Path = Field(
        Path("/tmp/opsdrill.heartbeat"), validation_alias="OPSDRILL_HEARTBEAT_FILE"
    )

    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    model: str = Field("claude-sonnet-4-5", validation_alias="OPSDRILL_MODEL")

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")
    slack_api_url: str | None = Field(None, validation_alias="SLACK_API_URL")

    discord_token: SecretStr | None = Field(None, validation_alias="DISCORD_TOKEN")
    discord_api_url: str | None = Field(None, validation_alias="DISCORD_API_URL")

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]
        return value

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

    def is_listed_admin(self, platform: str, user_id: str) -> bool:
        """`OPSDRILL_ADMINS` entries are user ids, optionally as `platform:user_id`."""
        return user_id in self.admins or f"{platform}:{user_id}" in self.admins
