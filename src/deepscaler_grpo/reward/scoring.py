"""Public verifier API: ``verify``, verl's ``compute_score`` and TRL reward functions.

Flow for one answer: the exact fast path (``fast.fast_verdict``) decides most pairs in
microseconds; only undecided pairs that pass the size guard go to the symbolic grader in a worker
process with a hard wall-clock limit (``sandbox``). Nothing here raises on any model output.

    from deepscaler_grpo.reward import compute_score, make_reward_funcs
    compute_score("math", "... <answer>\\\\dfrac{3}{4}</answer>", "0.75")["score"]   # 1.0
    funcs, weights = make_reward_funcs(format_weight=0.1)   # for trl.GRPOTrainer
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from deepscaler_grpo.reward.decimals import decimal_digits
from deepscaler_grpo.reward.extract import extract_answer, has_answer_tag, unwrap
from deepscaler_grpo.reward.fast import MAX_FAST_CHARS, clean, decide, prepare, strip_assignment
from deepscaler_grpo.reward.sandbox import get_pool
from deepscaler_grpo.reward.symbolic import is_safe_for_symbolic

DEFAULT_TIMEOUT_S = 5.0
GroundTruth = str | int | float | Sequence[Any] | Any  # Any: numpy arrays and scalars


@dataclass(frozen=True)
class Verdict:
    """``correct`` plus how it was decided: fast | symbolic | timeout | rejected | empty | no_gold | error."""

    correct: bool
    method: str


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
    if isinstance(ground_truth, bool):
        return [str(ground_truth)]
    if isinstance(ground_truth, int):
        return [str(ground_truth)]
    if isinstance(ground_truth, float):
        if math.isnan(ground_truth) or math.isinf(ground_truth):
            return []
        return [str(int(ground_truth))] if ground_truth.is_integer() else [repr(ground_truth)]
    text = unwrap(str(ground_truth))
    return [text] if text else []


class _Undecided(Exception):
    """The worker pool was busy or failed: do not cache the answer."""


@functools.lru_cache(maxsize=65536)
def _symbolic_cached(pred: str, golds: tuple[str, ...], timeout_s: float, decimals: int) -> Verdict:
    outcome = get_pool().check(pred, list(golds), timeout_s, decimals)
    if outcome.status in ("busy", "error"):
        raise _Undecided(outcome.status)
    return Verdict(outcome.correct, "symbolic" if outcome.status == "ok" else outcome.status)


Pending = tuple[tuple[str, tuple[str, ...]], ...]  # (pred, golds) groups for the symbolic grader


def _pending_pair(pred: str, gold: str) -> tuple[str, str] | bool:
    """(pred, gold) as the symbolic grader gets them, or a final verdict from the fast path."""
    if len(gold) > MAX_FAST_CHARS:
        return clean(pred), clean(gold)
    pair = prepare(pred, gold)
    if isinstance(pair, bool):
        return pair
    verdict = decide(*pair)
    if verdict is not None:
        return verdict
    pred_c, gold_c = pair
    return (pred_c if "=" in gold_c else strip_assignment(pred_c)), gold_c  # "x = a + b" vs "a + b": the value


def fast_check(pred: str | None, ground_truth: GroundTruth) -> Verdict | Pending:
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
        pair = _pending_pair(pred, gold)
        if pair is True:
            return Verdict(True, "fast")
        if pair is not False:
            groups.setdefault(pair[0], []).append(pair[1])
    if not groups:
        return Verdict(False, "fast")
    safe = tuple((p, tuple(g)) for p, g in groups.items() if is_safe_for_symbolic(p))
    return safe if safe else Verdict(False, "rejected")


def symbolic_check(pending: Pending, timeout_s: float) -> Verdict:
    """Symbolic grading in a worker process (cached), group by group, all within ``timeout_s``; never raises."""
    verdict = Verdict(False, "symbolic")
    deadline = time.monotonic() + float(timeout_s)
    for index, (pred, golds) in enumerate(pending):
        remaining = float(timeout_s) if index == 0 else round(deadline - time.monotonic(), 3)
        if remaining <= 0:
            return Verdict(False, "timeout")
        try:
            verdict = _symbolic_cached(pred, golds, remaining, decimal_digits())
        except _Undecided as exc:
            verdict = Verdict(False, str(exc))
        except Exception:  # noqa: BLE001 - the reward must never crash training
            verdict = Verdict(False, "error")
        if verdict.correct:
            return verdict
    return verdict


def check(pred: str | None, ground_truth: GroundTruth, timeout_s: float = DEFAULT_TIMEOUT_S) -> Verdict:
    """Grade one extracted answer; see ``Verdict`` for the methods."""
    try:
        first = fast_check(pred, ground_truth)
    except Exception:  # noqa: BLE001
        return Verdict(False, "error")
    return first if isinstance(first, Verdict) else symbolic_check(first, timeout_s)


def check_many(
    preds: Sequence[str | None], ground_truths: Sequence[GroundTruth], timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[Verdict]:
    """Grade a batch: fast path inline, the rest in parallel across the worker pool."""
    firsts: list[Any] = []
    for pred, gold in zip(preds, ground_truths, strict=True):
        try:
            firsts.append(fast_check(pred, gold))
        except Exception:  # noqa: BLE001
            firsts.append(Verdict(False, "error"))
    pending = [i for i, first in enumerate(firsts) if not isinstance(first, Verdict)]
    if pending:
        with ThreadPoolExecutor(max_workers=min(len(pending), get_pool().size)) as executor:
            results = executor.map(lambda i: symbolic_check(firsts[i], timeout_s), pending)
            for i, verdict in zip(pending, results):
                firsts[i] = verdict
    return firsts


def verify(pred: str, ground_truth: GroundTruth, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """True when ``pred`` is equivalent to the ground truth (or any one of a list of them)."""
    return check(pred, ground_truth, timeout_s).correct


def _score_dict(solution_str: Any, pred: str | None, verdict: Verdict) -> dict[str, Any]:
    return {
        "score": float(verdict.correct),
        "acc": verdict.correct,
        "pred": pred,
        "format": isinstance(solution_str, str) and has_answer_tag(solution_str),
        "method": verdict.method,
    }


def compute_score(
    data_source: Any, solution_str: str, ground_truth: GroundTruth, extra_info: Any = None, **kwargs: Any
) -> dict[str, Any]:
    """verl ``custom_reward_function`` entry: {score, acc, pred, format, method}.

    Optional kwargs: ``boxed_fallback`` (default True), ``timeout_s`` (default 5.0).
    """
    try:
        pred = extract_answer(solution_str, boxed_fallback=kwargs.get("boxed_fallback", True))
    except Exception:  # noqa: BLE001
        pred = None
    verdict = check(pred, ground_truth, kwargs.get("timeout_s", DEFAULT_TIMEOUT_S))
    return _score_dict(solution_str, pred, verdict)


def score_batch(
    solutions: Sequence[str], ground_truths: Sequence[GroundTruth], boxed_fallback: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[dict[str, Any]]:
    """``compute_score`` for a batch, symbolic checks in parallel."""
    preds = [extract_answer(s, boxed_fallback) if isinstance(s, str) else None for s in solutions]
    verdicts = check_many(preds, ground_truths, timeout_s)
    return [_score_dict(s, p, v) for s, p, v in zip(solutions, preds, verdicts)]


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string, or the last chat message's content (str or text parts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)) and completion:
        content = completion[-1].get("content", "") if isinstance(completion[-1], dict) else completion[-1]
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else ""
    return ""


def _ground_truths(answer: Sequence[Any] | None, n: int, kwargs: dict[str, Any]) -> list[Any]:
    """Per-row accepted answers by the project's row contract (TRL passes the dataset columns as lists)."""
    from deepscaler_grpo.problems import accepted_answers, ground_truth

    columns = {"answer": answer, "reward_model": kwargs.get("reward_model")}
    rows = [{key: values[i] for key, values in columns.items() if values is not None} for i in range(n)]
    return [ground_truth(found) if (found := accepted_answers(row)) else None for row in rows]


def accuracy_reward(
    completions: Sequence[Any], answer: Sequence[Any] | None = None, boxed_fallback: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S, **kwargs: Any,
) -> list[float]:
    """TRL reward function: 1.0 when the extracted answer matches the row's ground truth."""
    texts = [completion_text(c) for c in completions]
    truths = _ground_truths(answer, len(texts), kwargs)
    return [r["score"] for r in score_batch(texts, truths, boxed_fallback, timeout_s)]


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """TRL reward function: 1.0 when the completion has a non-empty ``<answer>`` tag."""
    return [float(has_answer_tag(completion_text(c))) for c in completions]


@dataclass(frozen=True)
class AccuracyReward:
    """Picklable configured ``accuracy_reward`` (TRL logs it as rewards/accuracy_reward)."""

    boxed_fallback: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S
    __name__ = "accuracy_reward"

    def __call__(self, completions: Sequence[Any], answer: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
        kwargs.pop("boxed_fallback", None)
        kwargs.pop("timeout_s", None)
        return accuracy_reward(completions, answer, self.boxed_fallback, self.timeout_s, **kwargs)


def make_reward_funcs(
    format_weight: float = 0.0, boxed_fallback: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """(reward_funcs, reward_weights) for ``trl.GRPOTrainer``: accuracy (1.0) and format (``format_weight``).

    The format reward is always returned so TRL logs the format rate, even at weight 0.
    """
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    return [AccuracyReward(boxed_fallback, timeout_s), format_reward], [1.0, float(format_weight)]
