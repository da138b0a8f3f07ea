"""SQLAlchemy 2 models. Every stored time is UTC; invariants are constraints, not hopes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Team(Base):
    """A Slack workspace, a Discord server, or the terminal's local team."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]

    channels: Mapped[list[Channel]] = relationship(
        back_populates="team", cascade="all, delete-orphan", passive_deletes=True
    )


class Channel(Base):
    """A channel that gets a daily round, with its schedule in its own time zone."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("team_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    post_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", wall time in `timezone`
    timezone: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[str] = mapped_column(String(32))  # "mon,tue,wed,thu,fri"
    window_minutes: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    categories: Mapped[list[Any] | None] = mapped_column(default=None)
    difficulties: Mapped[list[Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    schedule_changed_at: Mapped[datetime]
    # The weekday (Monday is 0) the weekly recap posts, at `post_time`; NULL: no recap.
    recap_day: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))

    team: Mapped[Team] = relationship(back_populates="channels")


class Member(Base):
    """A person in a team, known by their platform user id."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("team_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    # Left off leaderboards and reveals by name (`/drill leaderboard hide-me`); still graded.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Recap(Base):
    """A channel's weekly recap, one per channel and week (`week`: the Monday of the week it is
    posted in), so two processes never both post it. `status`: posting, posted, failed or
    empty (nothing to recap). `summary` keeps the text lines posted and who they name, so
    `/drill forget-me` can scrub a person from it."""

    __tablename__ = "recaps"
    __table_args__ = (UniqueConstraint("channel_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    week: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    summary: Mapped[dict[str, Any] | None]
    message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]


class Squad(Base):
    """A named group of members in one team, competing with the team's other squads."""

    __tablename__ = "squads"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class SquadMember(Base):
    """A member's squad: one per member (and so per team)."""

    __tablename__ = "squad_members"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    squad_id: Mapped[int] = mapped_column(ForeignKey("squads.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime]


class QuestionVersion(Base):
    """A question as it stood in the bank files; an edit adds a row with a new content hash."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    difficulty: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]]
    synced_at: Mapped[datetime]


class Round(Base):
    """One channel's question for one local date. `status`: posting, open, closed or missed."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("channel_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"))
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    revealed_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]  # a missed round: when the channel was told
    lease_until: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    thread_id: Mapped[str | None] = mapped_column(String(64))

    channel: Mapped[Channel] = relationship()
    question: Mapped[QuestionVersion | None] = relationship()


class ChannelRotation(Base):
    """Where a channel stands in the question rotation: how often it had each question, and
    the latest day's category; `Rotation` of all its rounds, kept so a choice reads one row.
    `round_id` is the latest round folded in: a write that finds another process moved the
    row on since it was read changes nothing, and the row is rebuilt from the rounds."""

    __tablename__ = "rotations"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    round_id: Mapped[int] = mapped_column(Integer)
    uses: Mapped[dict[str, Any]]
    last_date: Mapped[date | None] = mapped_column(Date)
    last_category: Mapped[str | None] = mapped_column(String(32))


class Answer(Base):
    """One person's message in a round's thread. `status` (see bot.services.replies): counted,
    superseded, withdrawn, discussion, candidate (a new attempt awaiting a choice), declined,
    or part (a further message of the answer before it, joined into that answer's text)."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("round_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every edit
    submitted_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship()
    round: Mapped[Round] = relationship()


class Entry(Base):
    """A member's part in a round: exactly one counted answer, and when they first answered."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("round_id", "member_id"),
        # A period's board reads one range of this per channel and never visits the table
        # (named by hand: the convention's name would pass PostgreSQL's 63 characters).
        Index(
            "ix_entries_for_boards",
            "channel_id",
            "local_date",
            "member_id",
            "score",
            "first_answered_at",
        ),
        # A person's stats, and the recount of their month.
        Index(None, "member_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    first_answered_at: Mapped[datetime]
    # The round's, copied when the entry is made (neither ever changes): boards filter on them
    # without a join to rounds.
    channel_id: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[date] = mapped_column(Date)
    # The score that counts: the answer's newest grade, if it grades the answer's latest text;
    # NULL until then. Kept by bot.storage.tally with every write that changes it.
    score: Mapped[float | None] = mapped_column(Float)


class TeamMonthTotal(Base):
    """A member's totals in one team (its channels) for one month of local dates: what the
    team's monthly board reads instead of a month of entries. Kept by bot.storage.tally;
    no entries, no row."""

    __tablename__ = "team_month_totals"
    __table_args__ = (Index(None, "member_id"),)

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[float] = mapped_column(Float)
    rounds: Mapped[int] = mapped_column(Integer)
    first_answered_at: Mapped[datetime]


class TeamTotal(Base):
    """A member's all-time totals in one team: the sum of their months. Kept by
    bot.storage.tally; no entries, no row."""

    __tablename__ = "team_totals"
    __table_args__ = (Index(None, "member_id"),)

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[float] = mapped_column(Float)
    rounds: Mapped[int] = mapped_column(Integer)
    first_answered_at: Mapped[datetime]


class Grade(Base):
    """A grade of one answer. Regrades add rows; the newest one counts."""

    __tablename__ = "grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    answer_revision: Mapped[int] = mapped_column(Integer)  # only a grade of the latest counts
    grader: Mapped[str] = mapped_column(String(64))
    question_version: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    points: Mapped[list[Any]]
    feedback: Mapped[str] = mapped_column(Text)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[list[Any]]
    usage: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    # A person's grade (grader "human:<user id>") says why, and what it replaced.
    reason: Mapped[str | None] = mapped_column(Text)
    previous_score: Mapped[float | None] = mapped_column(Float)
    # Feedback owed to the author ("first" or "update") until it is delivered; a worker that
    # sends it holds it under the lease, so a crash mid-send means another worker sends it.
    notice: Mapped[str | None] = mapped_column(String(16), index=True)
    notice_lease_until: Mapped[datetime | None]


class Contest(Base):
    """A member's request that an admin look at the grade of one of their answers: open until
    an admin regrades that answer (`/drill grade`)."""

    __tablename__ = "contests"
    __table_args__ = (UniqueConstraint("answer_id"), Index(None, "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open, resolved
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))


class GradingJob(Base):
    """Durable work: grade one round answer, or one mock-interview turn. Claimed under a lease
    so a crash loses nothing; `attempts` tells one claim from the next, so only the worker
    holding the current claim can finish the job."""

    __tablename__ = "grading_jobs"
    __table_args__ = (Index(None, "status", "run_after"), Index(None, "answer_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    turn_id: Mapped[int | None] = mapped_column(
        ForeignKey("interview_turns.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # pending, running, done, failed
    regrade: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Interview(Base):
    """A one-to-one mock interview in direct messages. `status`: active, finished, stopped (by
    the person), expired (idle) or abandoned. `revision` moves with every change, so two
    messages handled at once cannot both move the interview on."""

    __tablename__ = "interviews"
    __table_args__ = (
        UniqueConstraint("active_member_id"),
        Index(None, "member_id", "started_at"),
        Index(None, "status", "last_active_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # The member's id while the interview is active, NULL after: the unique key makes "one
    # active interview per person" a constraint (NULLs never collide).
    active_member_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str | None] = mapped_column(String(32))  # a category; NULL for a mix
    length: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the turn being asked
    grader: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    last_active_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.revision}


class InterviewTurn(Base):
    """One question of a mock interview: its answers, the follow-ups and hints it took, and its
    grade. `status`: pending, asked, probing, graded, skipped or unanswered."""

    __tablename__ = "interview_turns"
    __table_args__ = (UniqueConstraint("interview_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    status: Mapped[str] = mapped_column(String(16))
    answers: Mapped[list[Any]]  # every message answering it, in order; graded together
    follow_ups: Mapped[list[Any]]  # [{"point": rubric point id, "probe": text}]
    hints: Mapped[list[Any]]  # rubric point ids named by `hint`
    score: Mapped[float | None] = mapped_column(Float)
    points: Mapped[list[Any] | None]
    grader: Mapped[str | None] = mapped_column(String(64))
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    asked_at: Mapped[datetime | None]
    graded_at: Mapped[datetime | None]


class ProcessedEvent(Base):
    """Platform event ids already handled, so a platform's retry changes nothing."""

    __tablename__ = "processed_events"
    __table_args__ = (Index(None, "processed_at"),)

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime]


class InboxEvent(Base):
    """A platform event stored verbatim before its ack and handled after it: `new`, then
    `working` under a lease (a crash mid-way leaves it to be taken again), then `done` (kept a
    while, so a late retry of the same event id finds it taken), or `failed` after
    MAX_ATTEMPTS."""

    __tablename__ = "inbox_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"), Index(None, "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)  # JSON, as the platform sent it
    status: Mapped[str] = mapped_column(String(16))  # new, working, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
