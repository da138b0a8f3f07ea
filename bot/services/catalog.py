"""Keeps the questions table in step with the bank files: an edit gets a new version row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.questions.bank import Bank
from bot.storage.models import QuestionVersion
from bot.storage.repo import insert_ignoring_conflict


async def sync_questions(
    sessions: async_sessionmaker[AsyncSession], bank: Bank, now: datetime
) -> dict[str, int]:
    """Store every question's current version; the row id of each, by question id."""
    rows: dict[str, int] = {}
    async with sessions.begin() as session:
        stored = set(
            (await session.execute(select(QuestionVersion.slug, QuestionVersion.version))).tuples()
        )
        for question in bank:
            version = question.version
            if (question.id, version) in stored:
                continue
            await insert_ignoring_conflict(
                session,
                QuestionVersion,
                {
                    "slug": question.id,
                    "version": version,
                    "category": question.category.value,
                    "difficulty": question.difficulty.value,
                    "content": question.model_dump(mode="json"),
                    "synced_at": now,
                },
                conflict=["slug", "version"],
            )
        found = await session.execute(
            select(QuestionVersion.slug, QuestionVersion.version, QuestionVersion.id)
        )
        current = {q.id: q.version for q in bank}
        for slug, version, row_id in found:
            if current.get(slug) == version:
                rows[slug] = row_id
    return rows
