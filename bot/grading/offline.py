"""The offline grader: no network, no key, no model download. It matches the answer's sentences
against each rubric point's own wording, phrasings and related terms, weighting words by how
distinctive they are across the bank (IDF)."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.grading.base import Flag, Grade, PointGrade, Verdict, compose_feedback
from bot.grading.text import (
    content_stems,
    is_injection,
    is_term_list,
    normalized,
    sentences,
)
from bot.questions.schema import Question, RubricPoint

VERSION = "lexical-2"
# Coverage of a rubric point at which it earns full or partial credit. Chosen on the dev set
# from a wide plateau (0.45-0.6 and 0.25-0.3 score within 0.01 Spearman of each other).
FULL_AT = 0.5
PARTIAL_AT = 0.3
CONCEPT_TOP = 6  # a sentence that hits the point's six core stems covers it
CONCEPT_SCALE = 0.8
SUBSTANCE_FOR_FULL_MARKS = 35  # distinct meaningful words an answer needs before 10/10 is possible
MIN_WINDOW_STEMS = 4


@dataclass(frozen=True, slots=True)
class _Phrase:
    stems: frozenset[str]
    weight: float


@dataclass(frozen=True, slots=True)
class _Profile:
    phrases: list[_Phrase]
    terms: list[frozenset[str]]
    concepts: dict[str, float]
    """Stems of the point's wordings, weighted by distinctiveness and by how many wordings
    share them; the core ideas of the point weigh most."""
    concept_norm: float


def _term_score(named: int) -> float:
    """Naming related terms shows recognition, not explanation: one term earns nothing on its
    own, two or more in one sentence at most partial credit."""
    return 0.0 if named < 2 else min(0.45, 0.15 + 0.1 * named)


class OfflineGrader:
    """Rubric grading by weighted lexical overlap, sentence by sentence."""

    def __init__(self, questions: Iterable[Question]) -> None:
        self._idf = _idf(list(questions))
        self._profiles: dict[tuple[str, str], list[_Profile]] = {}

    @property
    def id(self) -> str:
        return f"offline:{VERSION}"

    async def grade(self, question: Question, answer: str) -> Grade:
        return self.grade_now(question, answer)

    def grade_now(self, question: Question, answer: str) -> Grade:
        """The same as `grade`, without the event loop: the offline grader never waits."""
        flags: set[Flag] = set()
        windows = self._windows(answer, flags)
        scored = [
            self._grade_point(rubric_point, profile, windows)
            for rubric_point, profile in zip(question.rubric, self._profile(question), strict=True)
        ]
        substance = len(frozenset().union(*(stems for _, stems in windows)))
        points = _within_ceiling(scored, 10 * min(1.0, substance / SUBSTANCE_FOR_FULL_MARKS))
        if not any(p.verdict is not Verdict.MISSED for p in points) and windows:
            if self._topicality(question, windows) < 0.1:
                flags.add(Flag.OFF_TOPIC)
        frozen = frozenset(flags)
        graded = tuple(points)
        return Grade(
            points=graded,
            feedback=compose_feedback(question, graded, frozen),
            grader=self.id,
            rubric_version=question.version,
            flags=frozen,
        )

    def _windows(self, answer: str, flags: set[Flag]) -> list[tuple[str, frozenset[str]]]:
        """Sentences (and adjacent pairs) that may carry evidence; lists, repeats and
        instructions to the grader are dropped before matching."""
        kept: list[str] = []
        seen: set[str] = set()
        for sentence in sentences(answer):
            if is_injection(sentence):
                flags.add(Flag.INJECTION)
                continue
            if is_term_list(sentence):
                flags.add(Flag.KEYWORD_LIST)
                continue
            key = normalized(sentence)
            if key in seen:
                continue
            seen.add(key)
            kept.append(sentence)
        windows = []
        for i, sentence in enumerate(kept):
            windows.append((sentence, frozenset(content_stems(sentence))))
            if i + 1 < len(kept):
                pair = f"{sentence} {kept[i + 1]}"
                windows.append((pair, frozenset(content_stems(pair))))
        return [w for w in windows if len(w[1]) >= MIN_WINDOW_STEMS]

    def _profile(self, question: Question) -> list[_Profile]:
        key = (question.id, question.version)
        if key not in self._profiles:
            self._profiles[key] = [self._point_profile(p) for p in question.rubric]
        return self._profiles[key]

    def _point_profile(self, point: RubricPoint) -> _Profile:
        texts = [point.point, point.full_credit, *point.phrasings]
        shared: Counter[str] = Counter(s for t in texts for s in set(content_stems(t)))
        concepts = {s: self._w(s) * n / len(texts) for s, n in shared.items()}
        norm = sum(sorted(concepts.values(), reverse=True)[:CONCEPT_TOP]) or 1.0
        return _Profile(self._phrases(point), self._terms(point), concepts, norm)

    def _phrases(self, point: RubricPoint) -> list[_Phrase]:
        texts = [point.point, point.full_credit, *point.phrasings]
        phrases = []
        for text in texts:
            stems = frozenset(content_stems(text))
            if stems:
                phrases.append(_Phrase(stems, sum(self._w(s) for s in stems)))

        return phrases

    def _terms(self, point: RubricPoint) -> list[frozenset[str]]:
        return [t for t in (frozenset(content_stems(term)) for term in point.terms) if t]

    def _w(self, stem: str) -> float:
        return self._idf.get(stem, self._idf.get("", 1.0))

    def _grade_point(
        self,
        point: RubricPoint,
        profile: _Profile,
        windows: list[tuple[str, frozenset[str]]],
    ) -> tuple[PointGrade, float]:
        best, evidence = 0.0, ""
        for text, stems in windows:
            wording = max(
                (sum(self._w(s) for s in p.stems & stems) / p.weight for p in profile.phrases),
                default=0.0,
            )
            concept = sum(profile.concepts.get(s, 0.0) for s in stems) / profile.concept_norm
            named = sum(1 for t in profile.terms if t <= stems)
            score = max(wording, CONCEPT_SCALE * concept, _term_score(named))
            if score > best:
                best, evidence = score, text
        verdict = (
            Verdict.FULL if best >= FULL_AT else Verdict.PARTIAL if best >= PARTIAL_AT
            else Verdict.MISSED
        )  # fmt: skip
        rationale = f"closest match {best:.0%} of the point's wording"
        graded = PointGrade(
            point_id=point.id,
            point=point.point,
            weight=point.weight,
            verdict=verdict,
            rationale=rationale,
            evidence=evidence if verdict is not Verdict.MISSED else "",
        )
        return graded, best

    def _topicality(self, question: Question, windows: list[tuple[str, frozenset[str]]]) -> float:
        vocab = frozenset(content_stems(f"{question.prompt} {question.model_answer}"))
        answer = frozenset().union(*(s for _, s in windows))
        if not answer:
            return 0.0
        return len(answer & vocab) / len(answer)


def _within_ceiling(scored: list[tuple[PointGrade, float]], ceiling: float) -> list[PointGrade]:
    """A short answer cannot cover the whole rubric, however well one sentence matches: while
    the total exceeds what the answer's substance allows, the least certain credit steps down."""
    points = [p for p, _ in scored]
    coverage = [c for _, c in scored]
    while sum(p.earned for p in points) > ceiling + 1e-9:
        credited = [i for i, p in enumerate(points) if p.verdict is not Verdict.MISSED]
        i = min(credited, key=lambda k: coverage[k])
        lower = Verdict.PARTIAL if points[i].verdict is Verdict.FULL else Verdict.MISSED
        coverage[i] -= 1.0  # step the same point down again only after the others
        points[i] = dataclasses.replace(
            points[i],
            verdict=lower,
            rationale=points[i].rationale + "; capped: the answer is too brief to earn more",
            evidence=points[i].evidence if lower is not Verdict.MISSED else "",
        )
    return points


def _idf(questions: list[Question]) -> dict[str, float]:
    """Inverse document frequency over every rubric point of the bank."""
    docs: list[set[str]] = []
    for q in questions:
        for p in q.rubric:
            docs.append(
                set(content_stems(" ".join([p.point, p.full_credit, *p.phrasings, *p.terms])))
            )
    counts: Counter[str] = Counter(s for d in docs for s in d)
    n = max(len(docs), 1)
    idf = {s: math.log((n + 1) / (c + 1)) + 1.0 for s, c in counts.items()}
    idf[""] = math.log(n + 1) + 1.0  # words the bank never uses
    return idf
