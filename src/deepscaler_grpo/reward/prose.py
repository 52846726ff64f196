"""Answers in prose: yes/no sentences, short phrases, and the words that change a value.

``prose_verdict(pred, gold)`` (on cleaned answers) decides three kinds of pairs and leaves the rest (None):

- yes/no: when one side is a bare ``Yes`` / ``No``, the other side's sentence is read for its answer: its first
  word (``No such function exists``, ``Yes, for n = 3``), else a negation (``It is impossible``, ``does not
  exist``, which outweighs the verb it negates) or an assertion (``It is possible``, ``Such a function
  exists``). Neither, ``yes`` beside ``no``, or a condition (``yes, if n is even``) is no plain answer.
- phrases: two answers in words only compare their content words in order, without fillers (articles,
  ``is``, ``wins``, ``has a winning strategy``, ``all``, ``integers``) and single-letter names: ``Alice`` =
  ``Alice wins``, ``all odd integers`` = ``n is odd``; ``Alice loses``, ``n is not odd`` and ``Bob beats
  Alice`` stay other answers.
- hedges: words that change a value (``at least 5``, ``about 7``, ``not 5``, ``more than``) must be on both sides.

    prose_verdict("\\\\text{No such function exists.}", "No")   # True
"""

from __future__ import annotations

import re

from deepscaler_grpo.reward.forms import TEXT_RE

_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NEGATIONS = frozenset({"no", "not", "impossible", "cannot", "can't", "never", "doesn't", "isn't", "aren't",
                        "don't", "false", "nonexistent", "nope"})
_CONDITIONS = frozenset({"if", "unless", "only", "otherwise", "when", "whenever", "except", "depends", "iff"})
_ASSERTIONS = frozenset({"yes", "possible", "exists", "exist", "true", "always", "yep"})
_FILLERS = frozenset({"the", "a", "an", "is", "are", "it", "its", "there", "this", "that", "will", "would", "can",
                      "could", "always", "must", "should", "be", "has", "have", "having", "win", "wins", "winner",
                      "winning", "strategy", "answer", "final", "player", "players", "then", "so", "thus", "we",
                      "get", "of", "one", "who", "which", "value", "values", "all", "every", "each", "integer",
                      "integers", "number", "numbers", "such"})
_HEDGES_RE = re.compile(
    r"\b(?:at\s+(?:least|most)|(?:more|less|fewer|greater|smaller|larger)\s+than|not|never|about|approximately|"
    r"around|roughly|nearly|almost|up\s+to|between|except|unless|maybe|possibly|probably|neither|nor)\b"
)
_MATH_RE = re.compile(r"[\d\\^_=+*/<>|,;]")  # lists (commas) are the list graders' business
_COMMAND_RE = re.compile(r"\\[A-Za-z]+")


def _words(text: str) -> list[str]:
    """Lower-case words of an answer with ``\\text{}`` and its kin unwrapped (other commands dropped)."""
    return _WORD_RE.findall(_COMMAND_RE.sub(" ", TEXT_RE.sub(r" \1 ", text)).lower())


def _is_prose(text: str) -> bool:
    """Words only: no digits, commands or operators once ``\\text{}`` is unwrapped."""
    return not _MATH_RE.search(TEXT_RE.sub(r" \1 ", text)) and bool(_words(text))


def polarity(text: str) -> bool | None:
    """True for a yes, False for a no, None when the answer says neither or both (module doc)."""
    words = _words(text)
    if not words or ("yes" in words and ("no" in words or "not" in words)) or _CONDITIONS & set(words):
        return None  # "yes or no", "yes, if n is even": no plain answer
    if words[0] in ("yes", "no"):
        return words[0] == "yes"
    if any(w in _NEGATIONS for w in words):
        return False  # "not possible", "does not exist": the negation decides
    return True if any(w in _ASSERTIONS for w in words) else None


def _content(text: str) -> list[str]:
    """Content words in order: no fillers, no single-letter names (``easts`` stays another word than ``east``)."""
    out = []
    for word in _words(text):
        if word in _FILLERS or len(word) == 1:
            continue
        out.append(word)
    return out


def _hedges(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", h) for h in _HEDGES_RE.findall(" ".join(_words(text)))]


def prose_verdict(pred: str, gold: str) -> bool | None:
    """Decide yes/no sentences, phrases and hedged values (module doc); None for anything else."""
    bare = [_words(side) in (["yes"], ["no"]) for side in (pred, gold)]
    if any(bare):
        answer, other = (pred, gold) if bare[0] else (gold, pred)
        return polarity(other) == polarity(answer) if polarity(other) is not None else False
    contents = _content(pred), _content(gold)
    if _is_prose(pred) and _is_prose(gold) and all(contents):
        return contents[0] == contents[1]
    if _hedges(pred) != _hedges(gold):
        return False  # "at least 5" is not 5
    return None
