"""Cleaning helpers for ``deepscaler-grpo prepare``: near-duplicate keys, n-gram decontamination
against evaluation sets, and answer classes. Everything is hashing and set look-ups (linear in the
data), so 40k problems take seconds.

    from deepscaler_grpo.data.clean import Decontaminator, dedup_key
    dedup_key("Find  $x$ if \\\\left( x+1 \\\\right)=2.")          # 'find x if x 1 2'
    Decontaminator({"math500": problems}).flag(train_problems)   # [None, "math500", ...]
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

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


class _WordIds(dict):
    """bytes -> CRC-32, computed on first use (dict lookups stay in C for known words)."""

    def __missing__(self, word: bytes) -> int:
        value = self[word] = zlib.crc32(word)
        return value


def word_ids(keys: Sequence[str]) -> list[list[int]]:
    """Stable integer ids of the words of canonical texts (CRC-32: the same in every process, unlike
    ``hash(str)``, so n-gram hashes and MinHash results are reproducible). Cached per call: words repeat."""
    lookup = _WordIds().__getitem__
    return [list(map(lookup, key.encode().split())) for key in keys]


def ngram_hash_sets(docs: Sequence[Sequence[int]], n: int, seed: int = 12345) -> list[set[int]]:
    """Per document, the set of hashes of its word n-grams (a document shorter than n: one hash of
    all of it). All windows of all documents are hashed at once with numpy (polynomial hash mod 2**64)."""
    import numpy as np

    weights = np.random.default_rng(seed).integers(1, 1 << 62, n + 1, dtype=np.uint64) | np.uint64(1)
    sizes = [len(doc) for doc in docs]
    flat = np.fromiter(chain.from_iterable(docs), dtype=np.uint64, count=sum(sizes))
    padded = np.concatenate([flat, np.zeros(n, dtype=np.uint64)])
    hashes = np.zeros(flat.size, dtype=np.uint64)
    for k in range(n):  # wraps mod 2**64 by design
        hashes += padded[k : k + flat.size] * weights[k]
    values = hashes.tolist()
    short_weights = [int(w) for w in weights]
    sets, start = [], 0
    for doc, size in zip(docs, sizes):
        if size >= n:
            sets.append(set(values[start : start + size - n + 1]))
        else:  # whole short text; the length term keeps it apart from full n-grams
            sets.append(
                {(sum(w * x for w, x in zip(short_weights, doc)) + size * short_weights[n]) % (1 << 64)}
                if size
                else set()
            )
        start += size
    return sets


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
        self.doc_set = [name for name, problems in eval_sets.items() for _ in problems]
        keys = [canonical_text(problem) for problems in eval_sets.values() for problem in problems]
        self.keys: dict[str, str] = {}
        for key, name in zip(keys, self.doc_set):
            self.keys.setdefault(key, name)
        self.doc_grams = ngram_hash_sets(word_ids(keys), n)
        self.index: dict[int, list[int]] = defaultdict(list)
        for doc, grams in enumerate(self.doc_grams):
            for gram in grams:
                self.index[gram].append(doc)

    def flag(self, problems: Sequence[str]) -> list[str | None]:
        """For each problem, the name of the evaluation set it overlaps, or None."""
        keys = [canonical_text(problem) for problem in problems]
        return self.flag_keys(keys, word_ids(keys))

    def flag_keys(self, keys: Sequence[str], ids: Sequence[Sequence[int]]) -> list[str | None]:
        """``flag`` for problems already turned into ``canonical_text`` and its ``word_ids``."""
        index = self.index
        matched = [[g for g in grams if g in index] for grams in ngram_hash_sets(ids, self.n)]
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
_FRACTION = re.compile(r"[+-]?\d+\s*/\s*\d+|[+-]?\\[dt]?frac\s*(?:\{\s*-?\d+\s*\}|\d)\s*(?:\{\s*\d+\s*\}|\d)")
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


def minhash_signatures(shingle_sets: Sequence[set[int]], num_perm: int = 64, seed: int = 0) -> Any:
    """MinHash signatures, shape (len(shingle_sets), num_perm), one vectorised pass per permutation.

    Empty sets get a signature of all-max values (they match nothing but each other; callers skip them).
    """
    import numpy as np

    prime = np.uint64((1 << 61) - 1)
    rng = np.random.default_rng(seed)
    mult = rng.integers(1, (1 << 61) - 1, num_perm, dtype=np.uint64)
    add = rng.integers(0, (1 << 61) - 1, num_perm, dtype=np.uint64)
    sizes = np.fromiter((len(s) for s in shingle_sets), dtype=np.int64, count=len(shingle_sets))
    values = np.fromiter(chain.from_iterable(shingle_sets), dtype=np.uint64, count=int(sizes.sum()))
    values &= np.uint64(0x1FFFFFFFFFFFFFFF)  # below the Mersenne prime
    signatures = np.full((len(shingle_sets), num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    nonempty = sizes > 0
    if not values.size:
        return signatures
    offsets = np.concatenate([[0], np.cumsum(sizes[nonempty])[:-1]])
    for j in range(num_perm):  # uint64 products wrap mod 2**64: still a good hash family
        signatures[nonempty, j] = np.minimum.reduceat((values * mult[j] + add[j]) % prime, offsets)
    return signatures


def fuzzy_duplicates(
    ids: Sequence[Sequence[int]],
    answers: Sequence[Any],
    threshold: float = 0.85,
    shingle: int = 5,
    num_perm: int = 48,
    bands: int = 8,
) -> list[int | None]:
    """For each text (as ``word_ids``), the index of an earlier kept one it nearly repeats, else None.

    Near = Jaccard similarity of word ``shingle``-grams >= ``threshold`` AND the same answer (texts
    differing in a number are usually different problems with different answers). Candidates come
    from MinHash LSH (``bands`` bands), then the exact Jaccard decides, so the work stays linear.
    """
    import numpy as np

    sets = ngram_hash_sets(ids, shingle)
    signatures = minhash_signatures(sets, num_perm)
    rows = num_perm // bands
    weights = np.random.default_rng(1).integers(1, 1 << 62, rows, dtype=np.uint64)
    band_keys = (signatures[:, : bands * rows].reshape(len(ids), bands, rows) * weights).sum(axis=2).tolist()
    buckets: list[dict[int, list[int]]] = [defaultdict(list) for _ in range(bands)]
    result: list[int | None] = []
    for i, keys in enumerate(band_keys):
        candidates = {c for band, key in enumerate(keys) for c in buckets[band].get(key, ())} if sets[i] else ()
        match = next(
            (
                c
                for c in sorted(candidates)
                if answers[c] == answers[i] and len(sets[i] & sets[c]) >= threshold * len(sets[i] | sets[c])
            ),
            None,
        )
        result.append(match)
        if match is None:
            for band, key in enumerate(keys):
                buckets[band][key].append(i)
    return result
