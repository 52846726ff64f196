"""Grading extracted answers: ``check`` / ``check_many`` / ``verify``, the fast path then the symbolic workers.

Flow for one answer: the exact fast path (``fast``) decides most pairs in microseconds; only undecided pairs
that pass the size guard go to the symbolic grader in a worker process of the policy's pool, with a hard
wall-clock limit (``sandbox``). Every call takes ``policy`` (None: ``VerifierPolicy.from_env()``) and the
``question`` it answers (for the order a question asks for; see ``question``). Nothing here raises on any
model output.

    check("n^2-n", "n(n-1)")                                      # Verdict(correct=True, method='symbolic')
    check("1, 2", "2, 1", question="List the roots in increasing order.")   # correct=False

Only verdicts are cached (``VerdictCache``): a timeout, a busy pool or an error is tried again next time, and
the key is the request (answer, golds, grading switches), never the time left.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from deepscaler_grpo.reward.bignum import big_number_verdict
from deepscaler_grpo.reward.extract import unwrap
from deepscaler_grpo.reward.fast import MAX_FAST_CHARS, decide, prepare
from deepscaler_grpo.reward.normalize import clean, strip_assignment
from deepscaler_grpo.reward.policy import Grading, VerifierPolicy, resolve
from deepscaler_grpo.reward.sandbox import WorkerPool, pool_for
from deepscaler_grpo.reward.symbolic import is_safe_for_symbolic

GroundTruth = str | int | float | Sequence[Any] | Any  # Any: numpy arrays and scalars
Pending = tuple[tuple[str, tuple[str, ...]], ...]  # (pred, golds) groups for the symbolic grader


@dataclass(frozen=True)
class Verdict:
    """``correct`` plus how it was decided: fast | symbolic | timeout | busy | rejected | empty | no_gold | error."""

    correct: bool
    method: str


class VerdictCache:
    """A thread-safe LRU of symbolic verdicts keyed by (pred, golds, grading); failures are never stored."""

    def __init__(self, size: int = 65536) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, tuple[str, ...], Grading], bool] = OrderedDict()

    def get(self, key: tuple[str, tuple[str, ...], Grading]) -> bool | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            return self._items.get(key)

    def put(self, key: tuple[str, tuple[str, ...], Grading], correct: bool) -> None:
        with self._lock:
            self._items[key] = correct
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


SYMBOLIC_CACHE = VerdictCache()  # process-wide: verdicts do not depend on the pool or the time left


def gold_strings(ground_truth: GroundTruth) -> list[str]:
    """Acceptable answers as strings: 142.0 -> ['142'], numpy arrays / lists flattened, None/NaN -> []."""
    if ground_truth is None:
        return []
    if isinstance(ground_truth, dict):  # verl's reward_model struct
        return gold_strings(ground_truth.get("ground_truth"))
    if hasattr(ground_truth, "tolist") and not isinstance(ground_truth, (str, bytes)):
        ground_truth = ground_truth.tolist()  # numpy array or scalar
    if isinstance(ground_truth, (list, tuple)):
        return [g for item in ground_truth for g in gold_strings(item)]
    if isinstance(ground_truth, (bool, int)):
        return [str(ground_truth)]
    if isinstance(ground_truth, float):
        if math.isnan(ground_truth) or math.isinf(ground_truth):
            return []
        return [str(int(ground_truth))] if ground_truth.is_integer() else [repr(ground_truth)]
    text = unwrap(str(ground_truth))
    return [text] if text else []


def _pending_pair(pred: str, gold: str, grading: Grading) -> tuple[str, str] | bool:
    """(pred, gold) as the symbolic grader gets them, or a final verdict from the fast path."""
    if len(gold) > MAX_FAST_CHARS:
        return clean(pred), clean(gold)
    pair = prepare(pred, gold, grading)
    if isinstance(pair, bool):
        return pair
    verdict = decide(*pair, grading)
    if verdict is None:
        verdict = big_number_verdict(*pair)
    if verdict is not None:
        return verdict
    pred_c, gold_c = pair
    return (pred_c if "=" in gold_c else strip_assignment(pred_c)), gold_c  # "x = a + b" vs "a + b": the value


def fast_check(pred: str | None, ground_truth: GroundTruth, grading: Grading | None = None) -> Verdict | Pending:
    """A final Verdict from the fast path, or the (pred, golds) groups that need the symbolic grader."""
    if pred is None or not str(pred).strip():
        return Verdict(False, "empty")
    golds = gold_strings(ground_truth)
    if not golds:
        return Verdict(False, "no_gold")
    pred = str(pred)
    if len(pred) > MAX_FAST_CHARS:
        return Verdict(False, "fast")  # no gold answer is this long
    groups: dict[str, list[str]] = {}
    for gold in golds:
        pair = _pending_pair(pred, gold, grading or Grading())
        if pair is True:
            return Verdict(True, "fast")
        if pair is not False:
            groups.setdefault(pair[0], []).append(pair[1])
    if not groups:
        return Verdict(False, "fast")
    safe = tuple((p, tuple(g)) for p, g in groups.items() if is_safe_for_symbolic(p))
    return safe if safe else Verdict(False, "rejected")


def _symbolic_one(pred: str, golds: tuple[str, ...], grading: Grading, timeout_s: float, pool: WorkerPool) -> Verdict:
    """One worker request, answered from the cache when its verdict is known; failures are not cached."""
    key = (pred, golds, grading)
    cached = SYMBOLIC_CACHE.get(key)
    if cached is not None:
        return Verdict(cached, "symbolic")
    outcome = pool.check(pred, list(golds), timeout_s, grading)
    if outcome.status != "ok":
        return Verdict(False, outcome.status)
    SYMBOLIC_CACHE.put(key, outcome.correct)
    return Verdict(outcome.correct, "symbolic")


def symbolic_check(
    pending: Pending, timeout_s: float, grading: Grading | None = None, pool: WorkerPool | None = None
) -> Verdict:
    """Symbolic grading in worker processes, group by group, all within ``timeout_s``; never raises."""
    grading, pool = grading or Grading(), pool or pool_for(VerifierPolicy.from_env())
    verdict = Verdict(False, "symbolic")
    deadline = time.monotonic() + float(timeout_s)
    for index, (pred, golds) in enumerate(pending):
        remaining = float(timeout_s) if index == 0 else deadline - time.monotonic()
        if remaining <= 0:
            return Verdict(False, "timeout")
        try:
            verdict = _symbolic_one(pred, golds, grading, remaining, pool)
        except Exception:  # noqa: BLE001 - the reward must never crash training
            verdict = Verdict(False, "error")
        if verdict.correct:
            return verdict
    return verdict


def _first_pass(pred: str | None, ground_truth: GroundTruth, grading: Grading) -> Verdict | Pending:
    try:
        return fast_check(pred, ground_truth, grading)
    except Exception:  # noqa: BLE001
        return Verdict(False, "error")


def check(
    pred: str | None, ground_truth: GroundTruth, timeout_s: float | None = None, *,
    policy: VerifierPolicy | None = None, question: str | None = None,
) -> Verdict:
    """Grade one extracted answer; see ``Verdict`` for the methods.

    ``timeout_s`` (older keyword) overrides ``policy.timeout_s``; ``question`` is the problem text (module doc).
    """
    policy = resolve(policy, timeout_s)
    grading = policy.grading(question)
    first = _first_pass(pred, ground_truth, grading)
    return first if isinstance(first, Verdict) else symbolic_check(first, policy.timeout_s, grading, pool_for(policy))


def check_many(
    preds: Sequence[str | None], ground_truths: Sequence[GroundTruth], timeout_s: float | None = None, *,
    policy: VerifierPolicy | None = None, questions: Sequence[str | None] | None = None,
) -> list[Verdict]:
    """Grade a batch: fast path inline, the rest in parallel across the policy's worker pool."""
    policy = resolve(policy, timeout_s)
    questions = questions if questions is not None else [None] * len(preds)
    gradings = [policy.grading(q) for q in questions]
    firsts: list[Any] = [_first_pass(p, g, grading) for p, g, grading in zip(preds, ground_truths, gradings, strict=True)]
    pending = [i for i, first in enumerate(firsts) if not isinstance(first, Verdict)]
    if pending:
        pool = pool_for(policy)
        with ThreadPoolExecutor(max_workers=min(len(pending), pool.size)) as executor:
            results = executor.map(lambda i: symbolic_check(firsts[i], policy.timeout_s, gradings[i], pool), pending)
            for i, verdict in zip(pending, results):
                firsts[i] = verdict
    return firsts


def verify(
    pred: str, ground_truth: GroundTruth, timeout_s: float | None = None, *,
    policy: VerifierPolicy | None = None, question: str | None = None,
) -> bool:
    """True when ``pred`` is equivalent to the ground truth (or any one of a list of them)."""
    return check(pred, ground_truth, timeout_s, policy=policy, question=question).correct
