"""The question bank's schema: what a question file must hold, checked on load."""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Category(StrEnum):
    """The areas an MLOps interview tests; a question belongs to exactly one."""

    PIPELINES = "pipelines"
    DATA_VALIDATION = "data-validation"
    DEPLOYMENT = "deployment"
    VERSIONING = "versioning"
    MONITORING = "monitoring"
    CI_CD = "ci-cd"
    FEATURE_STORES = "feature-stores"
    INFRASTRUCTURE = "infrastructure"
    LLMOPS = "llmops"
    GOVERNANCE = "governance"
    SYSTEM_DESIGN = "system-design"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.PIPELINES: "Pipelines & retraining",
    Category.DATA_VALIDATION: "Data validation & quality",
    Category.DEPLOYMENT: "Deployment & serving",
    Category.VERSIONING: "Versioning & reproducibility",
    Category.MONITORING: "Monitoring & drift",
    Category.CI_CD: "CI/CD for ML",
    Category.FEATURE_STORES: "Feature stores & data management",
    Category.INFRASTRUCTURE: "Infrastructure & scaling",
    Category.LLMOPS: "LLMOps",
    Category.GOVERNANCE: "Governance & incident response",
    Category.SYSTEM_DESIGN: "System design",
}


class Difficulty(StrEnum):
    """How much experience a strong answer takes."""

    FOUNDATION = "foundation"
    PRACTITIONER = "practitioner"
    EXPERT = "expert"


class Aspect(StrEnum):
    """What an open-ended design answer must address; each design rubric covers all four."""

    SCALE = "scale"
    FAILURE_MODES = "failure-modes"
    MONITORING = "monitoring"
    MVP_V2 = "mvp-v2"


class RubricPoint(BaseModel):
    """One checkable thing a strong answer contains, with what earns full and partial credit.
    `phrasings` are ways a candidate might say it and `terms` related words; the offline
    grader matches answers against both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    point: Text
    weight: int = Field(ge=1, le=10)
    full_credit: Text
    partial_credit: Text
    phrasings: list[Text] = Field(min_length=3)
    terms: list[Text] = Field(min_length=3)
    aspect: Aspect | None = None


class WeakAnswer(BaseModel):
    """A typical answer that misses the mark, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Text
    why: Text


class FollowUp(BaseModel):
    """A probe a mock interviewer asks when the answer missed a rubric point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    point: Slug
    probe: Text


class Question(BaseModel):
    """One interview question with its rubric, model answer and follow-ups."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    category: Category
    difficulty: Difficulty
    prompt: Text
    context: Text | None = None
    rubric: list[RubricPoint] = Field(min_length=3, max_length=6)
    model_answer: Text
    weak_answer: WeakAnswer
    follow_ups: list[FollowUp] = Field(min_length=2, max_length=3)
    tags: list[Slug] = Field(min_length=1)

    @model_validator(mode="after")
    def _rubric_is_consistent(self) -> Question:
        total = sum(p.weight for p in self.rubric)
        if total != 10:
            raise ValueError(f"rubric weights sum to {total}, not 10")
        ids = [p.id for p in self.rubric]
        if len(set(ids)) != len(ids):
            raise ValueError("rubric point ids repeat")
        unknown = sorted({f.point for f in self.follow_ups} - set(ids))
        if unknown:
            raise ValueError(f"follow-ups point at unknown rubric points: {', '.join(unknown)}")
        words = len(re.findall(r"\S+", self.model_answer))
        if not 80 <= words <= 200:
            raise ValueError(f"model answer has {words} words; it must have 80-200")
        if self.category is Category.SYSTEM_DESIGN:
            missing = sorted(set(Aspect) - {p.aspect for p in self.rubric if p.aspect})
            if missing:
                raise ValueError(
                    "a system-design rubric must cover scale, failure modes, monitoring and "
                    f"MVP vs v2; no rubric point has aspect: {', '.join(missing)}"
                )
        return self

    @cached_property
    def version(self) -> str:
        """A content hash: any edit to the question gives a new version."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def point(self, point_id: str) -> RubricPoint:
        return next(p for p in self.rubric if p.id == point_id)


class QuestionFile(BaseModel):
    """The shape of one YAML file in a bank: a list of questions."""

    model_config = ConfigDict(extra="forbid")

    questions: list[Question]
