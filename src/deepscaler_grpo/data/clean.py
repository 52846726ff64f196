"""Cleaning helpers for ``deepscaler-grpo prepare``: near-duplicate keys, n-gram decontamination
against evaluation sets, and answer classes. Everything is hashing and set look-ups (linear in the
data), so 40k problems take seconds.

    from deepscaler_grpo.data.clean import Decontaminator, dedup_key
    dedup_key("Find  $x$ if \\\\left( x+1 \\\\right)=2.")          # 'find x if x 1 2'
    Decontaminator({"math500": problems}).flag(train_problems)   # [None, "math500", ...]
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

# LaTeX that changes spacing or sizing but not meaning; removed before comparing problems.
_LATEX_NOISE = re.compile(
    r"\\(?:left|right|[bB]ig{1,2}[lr]?|displaystyle|textstyle|mathrm|mathbf|text|mbox|"
    r"quad|qquad)(?![A-Za-z])|\\[,;:! ]|\$|\\\(|\\\)|\\\[|\\\]|~"
)
_DFRAC = re.compile(r"\\[dt]frac(?![A-Za-z])")
_NON_WORD = re.compile(r"[\W_]+")


def canonical_text(
    text: str, dfrac: re.Pattern = _DFRAC, noise: re.Pattern = _LATEX_NOISE, non_word: re.Pattern = _NON_WORD
) -> str:
    """Casefolded words and numbers only: LaTeX spacing/sizing, punctuation and extra spaces removed."""
    text = dfrac.sub(r"\\frac", text.casefold())
    text = noise.sub(" ", text)
    return non_word.sub(" ", text).strip()


def dedup_key(text: str) -> str:
    """Key under which two problems count as near-duplicates (same words and numbers, same order)."""
    return canonical_text(text)


def ngram_hashes(words: Sequence[str], n: int) -> set[int]:
    """Hashes of the word n-grams; a text shorter than n gives one hash of all its words."""
    if len(words) < n:
        return {hash(tuple(words))} if words else set()
    return {hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)}


class Decontaminator:
    """Flags training problems that overlap evaluation problems.

    A training problem is contaminated by an evaluation problem when their canonical texts are equal,
    or when it contains at least ``threshold`` of the evaluation problem's informative word n-grams.
    N-grams found in ``common_df`` or more training problems (or in 3+ evaluation problems) are
    boilerplate ("where m and n are relatively prime positive integers. Find m+n") and do not count.
    """

    def __init__(
        self, eval_sets: Mapping[str, Iterable[str]], n: int = 8, threshold: float = 0.5, common_df: int = 5
    ) -> None:
        self.n, self.threshold, self.common_df = n, threshold, common_df
        self.doc_set: list[str] = []
        self.doc_grams: list[set[int]] = []
        self.index: dict[int, list[int]] = defaultdict(list)
        self.keys: dict[str, str] = {}
        for name, problems in eval_sets.items():
            for problem in problems:
                key = canonical_text(problem)
                self.keys.setdefault(key, name)
                grams = ngram_hashes(key.split(), n)
                for gram in grams:
                    self.index[gram].append(len(self.doc_set))
                self.doc_set.append(name)
                self.doc_grams.append(grams)

    def flag(self, problems: Sequence[str]) -> list[str | None]:
        """For each problem, the name of the evaluation set it overlaps, or None."""
        keys = [canonical_text(problem) for problem in problems]
        matched = [[g for g in ngram_hashes(key.split(), self.n) if g in self.index] for key in keys]
        train_df = Counter(gram for grams in matched for gram in grams)
        common = {g for g, count in train_df.items() if count >= self.common_df}
        common.update(g for g, docs in self.index.items() if len(docs) >= 3)
        informative = [len(grams - common) for grams in self.doc_grams]
        return [self._match(key, grams, common, informative) for key, grams in zip(keys, matched)]

    def _match(self, key: str, grams: list[int], common: set[int], informative: list[int]) -> str | None:
        if key in self.keys:
            return self.keys[key]
        hits = Counter(doc for gram in grams if gram not in common for doc in self.index[gram])
        for doc, count in hits.most_common():
            if informative[doc] and count / informative[doc] >= self.threshold:
                return self.doc_set[doc]
        return None


_INTEGER = re.compile(r"[+-]?\d+|[+-]?\d{1,3}(?:(?:,|\{,\}|\\!)\d{3})+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_FRACTION = re.compile(
    r"[+-]?\d+\s*/\s*\d+|[+-]?\\[dt]?frac\s*(?:\{\s*-?\d+\s*\}|\d)\s*(?:\{\s*\d+\s*\}|\d)"
)
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")
_WORDS = re.compile(r"[A-Za-z][A-Za-z '.,-]*[A-Za-z.]|\(?[A-Za-z]\)")

ANSWER_TYPES = ("integer", "decimal", "fraction", "expression", "list", "text")


def answer_type(
    answer: str | Sequence[str],
    numeric: Sequence[tuple[str, re.Pattern]] = (("integer", _INTEGER), ("decimal", _DECIMAL), ("fraction", _FRACTION)),
    text_wrapper: re.Pattern = _TEXT_WRAPPER,
    words: re.Pattern = _WORDS,
) -> str:
    """Class of a normalised answer: integer, decimal, fraction, expression, list (several accepted
    answers) or text (words, or a multiple-choice letter such as ``(C)``)."""
    if not isinstance(answer, str):
        return "list" if len(answer) > 1 else answer_type(answer[0])
    text = answer.strip().strip("$").strip()
    for name, pattern in numeric:
        if pattern.fullmatch(text):
            return name
    unwrapped = text_wrapper.sub(r"\1", text).strip()
    if words.fullmatch(unwrapped) and (len(unwrapped) >= 3 or unwrapped != text or "(" in unwrapped):
        return "text"
    return "expression"
