"""Does a span read as language? A small n-gram model of word order, trained on the bank's own
prose, tells a sentence from the same words shuffled or stacked into a list.

Function words keep their identity and content words fall into a few shape classes (plural,
-ing, -ed, -ly, number, other), so the model learns how English is put together rather than the
bank's vocabulary: "retrain when the live metric drops" and "roll back if the canary's error
rate rises" share a shape, while "drops metric live the when retrain" and "PSI KS canary drift"
do not. A span's fluency is how much better the trigram model predicts it than word frequencies
alone do (mean log-likelihood gain per token), with its share of function words beside it."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.grading.words import STOPWORDS

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*|[,:;()]")
_START, _END = "<s>", "</s>"
FUNCTION = STOPWORDS - {"use", "used", "using", "make", "makes", "made", "thing", "things"}
_BRACKETS = frozenset("(),:;")
# Interpolation weights for trigram, bigram and unigram estimates.
_L3, _L2, _L1 = 0.6, 0.3, 0.1


def classes(text: str) -> list[str]:
    """The text as the model sees it: function words as themselves, content words by shape."""
    out = []
    for token in _TOKEN.findall(text):
        low = token.lower()
        if "'" in low:  # a contraction reads as its first word: "i'd" as "i", "isn't" as "is"
            low = low.split("'", 1)[0] or low
        if low in FUNCTION or token in _BRACKETS:
            out.append(low)
        elif low.isdigit():
            out.append("#NUM")
        elif low.endswith("ing") and len(low) > 5:
            out.append("#ING")
        elif low.endswith("ed") and len(low) > 4:
            out.append("#ED")
        elif low.endswith("ly") and len(low) > 4:
            out.append("#LY")
        elif low.endswith("s") and not low.endswith("ss") and len(low) > 3:
            out.append("#S")
        else:
            out.append("#W")
    return out


@dataclass(frozen=True, slots=True)
class Reading:
    gain: float
    """Mean log-likelihood gain per token of the trigram model over word frequencies."""
    function_share: float
    """Share of the span's words that are function words ("the", "when", "of"...)."""
    tokens: int


class FluencyModel:
    """An interpolated class-trigram model of word order."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._uni: Counter[str] = Counter()
        self._bi: Counter[tuple[str, str]] = Counter()
        self._tri: Counter[tuple[str, str, str]] = Counter()
        self._ctx1: Counter[str] = Counter()
        self._ctx2: Counter[tuple[str, str]] = Counter()
        for text in texts:
            for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
                seq = classes(sentence)
                if len(seq) < 3:
                    continue
                padded = [_START, _START, *seq, _END]
                for i in range(2, len(padded)):
                    a, b, c = padded[i - 2], padded[i - 1], padded[i]
                    self._uni[c] += 1
                    self._bi[(b, c)] += 1
                    self._ctx1[b] += 1
                    self._tri[(a, b, c)] += 1
                    self._ctx2[(a, b)] += 1
        self._total = sum(self._uni.values()) or 1
        self._vocab = len(self._uni) + 1

    def _p1(self, c: str) -> float:
        return (self._uni[c] + 1) / (self._total + self._vocab)

    def read(self, span: str) -> Reading:
        seq = classes(span)
        words = [t for t in seq if t not in _BRACKETS]
        if not words:
            return Reading(0.0, 0.0, 0)
        padded = [_START, _START, *seq, _END]
        gain = 0.0
        for i in range(2, len(padded)):
            a, b, c = padded[i - 2], padded[i - 1], padded[i]
            p1 = self._p1(c)
            p2 = self._bi[(b, c)] / self._ctx1[b] if self._ctx1[b] else p1
            p3 = self._tri[(a, b, c)] / self._ctx2[(a, b)] if self._ctx2[(a, b)] else p2
            gain += math.log(_L3 * p3 + _L2 * p2 + _L1 * p1) - math.log(p1)
        share = sum(1 for t in words if not t.startswith("#")) / len(words)
        return Reading(gain / (len(padded) - 2), share, len(words))
