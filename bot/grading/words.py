"""Lexical helpers for the offline grader: tokens, light stemming, sentences, and the shapes of
answers that should earn nothing (term lists, repeated text, instructions to the grader)."""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves also like e g eg i e ie
    etc s t d ll m re ve let lets get gets got really just maybe think guess probably thing things
    way one say said use used using make makes made""".split()
)

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+|\s+-\s+|\s+–\s+|\s+—\s+")

_SUFFIXES = (
    "ational", "tional", "ization", "isation", "iveness", "fulness", "ousness", "ements",
    "ement", "ments", "ment", "ations", "ation", "ingly", "edly", "ities", "ity", "ness",
    "ings", "ing", "ers", "er", "ies", "ied", "ed", "es", "ly", "s",
)  # fmt: skip


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light stemmer: enough to match 'retraining'/'retrain'/'retrained'."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("ies", "ied", "ities", "ity"):
                base += "y" if suffix in ("ies", "ied") else ""
            return base
    return word


def _folded(text: str) -> str:
    """`text` as words are read from it (same length, so positions still match)."""
    return text.lower().replace("/", " ")


def words(text: str) -> list[str]:
    return _WORD.findall(_folded(text))


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of every word in `text`, as `words` reads them."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(_folded(text))]


def word_stem(word: str) -> str:
    """The stem a (lowercase) word is matched by: hyphens and apostrophes dropped."""
    return stem(word.replace("-", "").replace("'", ""))


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning, in order."""
    return [word_stem(w) for w in words(text) if w not in STOPWORDS]


_FULL_STOP = re.compile(r"(?<=[.!?])\s+|\n+")


def full_sentences(text: str) -> list[str]:
    """Whole sentences (ended by . ! ? or a line break), before `sentences` splits clauses."""
    return [p.strip() for p in _FULL_STOP.split(text) if p and p.strip()]


def sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    return [p for p in parts if words(p)]


_LIST_SEPARATOR = re.compile(r"[,;|·•]|\s/\s|\s+-\s+| and ")


def is_term_list(sentence: str) -> bool:
    """A run of short comma-separated items with no explanation: 'PSI, KS test, drift, MLflow'."""
    body = sentence.split(":", 1)[1] if ":" in sentence else sentence
    items = [i.strip() for i in _LIST_SEPARATOR.split(body) if i.strip()]
    if len(items) < 5:
        return False
    short = sum(1 for i in items if len(words(i)) <= 3)
    return short / len(items) >= 0.8


_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^.!?]{0,40}\b(rubric|instructions?|rules|guidelines"
    r"|criteria|prompt)\b"
    r"|\bnote\s+(for|to)\s+the\s+(\w+\s+)?(grader|evaluator|marker|model|reviewer|ai|llm)\b"
    r"|\b(give|award|assign|return|output|mark|grade|score)\b[^.!?]{0,40}"
    r"\b(10\s*/\s*10|10 out of 10|ten out of ten|full marks|full credit|maximum score"
    r"|(a )?(score|grade) of (10|ten))\b"
    r"|\b10\s*/\s*10\b|\bpre-?approved\b"
    r"|\b(return|give|award|assign|output)\s+(it\s+|this\s+)?(a\s+)?(score|grade|mark)\s*"
    r"(of\s*|:\s*|=\s*)?(10|ten)\b|[\"']?score[\"']?\s*[:=]\s*10\b"
    r"|\b(grader|grading|evaluator|marking)\s+instructions?\b"
    r"|\b(evaluation|assistant|system|grader|admin)\s+override\b|\bcalibration mode\b"
    r"|^\W*(grader|evaluator|assistant|ai|claude|gpt)\s*[,:]"
    r"|\b(to|for) the (ai|llm|model|bot|grader|evaluator)\b[^.!?]{0,20}\b(evaluating|grading"
    r"|reading|marking)\b"
    r"|\byou are now\b|\b(reveal|print|repeat|show)\b[^.!?]{0,20}\bsystem prompt\b"
    r"|\bevery (rubric )?point (is |as )?(marked |covered)",
    re.IGNORECASE,
)


def is_injection(sentence: str) -> bool:
    return bool(_INJECTION.search(sentence))


def normalized(sentence: str) -> str:
    return " ".join(words(sentence))


NEGATORS = frozenset(
    {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot"}
)
_DENIAL = re.compile(
    r"\b(it|this|that)(\s+is|'s)\s+(simply\s+|just\s+|plainly\s+)?(not\s+true|not\s+the\s+case"
    r"|false|untrue|wrong|a\s+myth|nonsense|a\s+misconception|mistaken|incorrect)"
    r"(\s+to\s+(say|think|claim|believe))?(\s+that\b|\s*[,.;!]|\s*$)"
    r"|\b(a\s+)?(myth|misconception|fallacy)\s+that\b"
    r"|\bcontrary\s+to\s+(popular\s+belief|what\s+\w+\s+(say|think|claim)s?)\b"
    r"|\b(nobody|no\s+one)\s+(\w+\s+)?(believes?|thinks?|needs?|bothers?|cares?)\b"
    r"|\b(is|are)\s+(completely\s+|totally\s+)?(overrated|pointless|a\s+waste\s+of\s+time)\b",
    re.IGNORECASE,
)


_CLAUSE_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[,;:()]")
_SCOPE_BREAKS = frozenset({",", ";", ":", "(", ")", "but", "so", "because", "while", "whereas"})
NEGATION_SCOPE = 3  # content words a negator reaches


def _is_negator(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


def negated_stems(text: str, *, both_sides: bool = False) -> frozenset[str]:
    """Stems of the content words a negator governs: the next NEGATION_SCOPE content words in
    its clause ("is not a deterministic function" → determin, function). With `both_sides`,
    the content words just before it as well (how a rubric's own negated wording is read,
    so "needs no labels" and "you don't need labels" agree)."""
    tokens = _CLAUSE_WORD.findall(_folded(text))
    found: set[str] = set()
    for i, token in enumerate(tokens):
        if not _is_negator(token):
            continue
        reaches = [tokens[i + 1 :]]
        if both_sides:
            reaches.append(tokens[:i][::-1])
        for reach in reaches:
            taken = 0
            for word in reach:
                if word in _SCOPE_BREAKS or _is_negator(word):
                    break
                if word in STOPWORDS:
                    continue
                found.add(word_stem(word))
                taken += 1
                if taken == NEGATION_SCOPE:
                    break
    return frozenset(found)


def is_denial(sentence: str) -> bool:
    """The sentence denies or dismisses what it mentions ("it is wrong to say that ...",
    "... but that is a myth", "nobody believes ..."); plain negation ("X is not ...") is
    weighed against the rubric's own wording instead (`negated_stems`)."""
    return bool(_DENIAL.search(sentence))
