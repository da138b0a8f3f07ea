"""A primary grader with the offline one behind it: when the primary fails, the answer still
gets a grade now, marked provisional, and a regrade replaces it later."""

from __future__ import annotations

import dataclasses
import logging

from bot.grading.base import Grade, Grader
from bot.questions.schema import Question

log = logging.getLogger(__name__)


class FallbackGrader:
    def __init__(self, primary: Grader, fallback: Grader) -> None:
        self._primary = primary
        self._fallback = fallback

    @property
    def id(self) -> str:
        return self._primary.id

    @property
    def primary(self) -> Grader:
        return self._primary

    async def grade(self, question: Question, answer: str) -> Grade:
        try:
            return await self._primary.grade(question, answer)
        except Exception as exc:
            log.warning(
                "%s could not grade an answer to %s (%s); using %s provisionally",
                self._primary.id, question.id, exc, self._fallback.id,
            )  # fmt: skip
            grade = await self._fallback.grade(question, answer)
            return dataclasses.replace(grade, provisional=True)
