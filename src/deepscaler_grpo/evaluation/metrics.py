"""Metrics of an evaluation: the verifier's scores per response, pass@k with 95% intervals, format rate and counts.

pass@1 is the mean accuracy over the n samples (averaged over problems: "mean@n"); pass@k uses the unbiased
estimator ``1 - C(n-c, k) / C(n, k)`` (Chen et al., 2021) in its numerically stable product form; format rate is the
fraction of responses with a non-empty ``<answer>`` tag. Every one of them comes with ``_ci_low`` / ``_ci_high``
(:mod:`.intervals`). Extra verdict columns (another verifier policy, math-verify) get ``pass@1_<column>`` and a
count of the responses on which they disagree with the headline verdict.

    from deepscaler_grpo.evaluation.metrics import pass_at_k, score_responses
    pass_at_k(n=16, c=4, k=8)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.evaluation.intervals import mean_interval, pass_at_k_scores

if TYPE_CHECKING:
    from deepscaler_grpo.reward import VerifierPolicy

# scorer(texts, ground truths, questions) -> [{score, acc, pred, format}]
BatchScorer = Callable[[list[str], list[Any], list[Any]], list[dict[str, Any]]]
COUNT_KEYS = ("num_problems", "num_samples", "samples_per_problem")


@dataclass
class EvalResult:
    """Scores of one evaluation: ``summary`` (pass@k and intervals, format_rate, counts) and one record per problem."""

    summary: dict[str, float]
    records: list[dict[str, Any]] = field(default_factory=list)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with ``c`` correct out of ``n`` samples (needs k <= n)."""
    import numpy as np

    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i): no huge binomials.
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def default_k_values(n: int) -> list[int]:
    """Powers of two up to ``n``, plus ``n`` itself: 1, 2, 4, ..., n."""
    ks = {2**i for i in range(int(math.log2(n)) + 1)} if n >= 1 else set()
    return sorted(ks | {n}) if n >= 1 else []


def verifier_scorer(policy: VerifierPolicy | None = None) -> BatchScorer:
    """The project's verifier, batched (symbolic checks in parallel) with ``policy`` (None: ``from_env()``)."""
    from deepscaler_grpo.reward import score_batch

    def scorer(texts: list[str], truths: list[Any], questions: list[Any]) -> list[dict[str, Any]]:
        return score_batch(texts, truths, policy=policy, questions=questions)

    return scorer


def score_responses(
    responses: list[list[str]],
    ground_truths: list,
    k_values: Sequence[int] | None = None,
    *,
    problems: Sequence[str] | None = None,
    scorer: BatchScorer | None = None,
    policy: VerifierPolicy | None = None,
) -> EvalResult:
    """Score ``responses[i][j]`` (sample j of problem i) against ``ground_truths[i]``.

    Returns pass@1 (mean accuracy over samples), pass@k for each k <= n, the format rate, counts and intervals.
    ``scorer(texts, truths, questions) -> [{score, acc, pred, format}]`` defaults to the project's verifier with
    ``policy``; the problem texts are the questions (a question may ask for an ordered answer).
    """
    if len(responses) != len(ground_truths):
        raise ValueError(f"{len(responses)} response lists but {len(ground_truths)} ground truths")
    if not responses:
        raise ValueError("nothing to score: no problems were given")
    flat = [(i, text) for i, samples in enumerate(responses) for text in samples]
    questions = [problems[i] if problems is not None else None for i, _ in flat]
    results = iter((scorer or verifier_scorer(policy))([t for _, t in flat], [ground_truths[i] for i, _ in flat],
                                                      questions))
    records = []
    for i, samples in enumerate(responses):
        scored = [next(results) for _ in samples]
        records.append(
            {
                "problem": problems[i] if problems is not None else None,
                "answer": ground_truths[i],
                "responses": list(samples),
                "scores": [float(r["score"]) for r in scored],
                "accs": [bool(r["acc"]) for r in scored],
                "preds": [r.get("pred") for r in scored],
                "formats": [bool(r.get("format", False)) for r in scored],
            }
        )
    return EvalResult(summary=summarize(records, k_values), records=records)


def problem_scores(records: Sequence[dict[str, Any]], column: str = "accs") -> list[float]:
    """Per-problem pass@1: the share of right samples of each problem."""
    return [sum(r[column]) / len(r[column]) for r in records]


def summarize(
    records: list[dict[str, Any]], k_values: Sequence[int] | None = None, extra_columns: Sequence[str] = ()
) -> dict[str, float]:
    """pass@k / format rate with their intervals, then counts, from per-problem records with ``accs`` and
    ``formats`` lists; each of ``extra_columns`` (e.g. ``training`` for ``accs_training``) adds its pass@1."""
    sizes = [len(r["accs"]) for r in records]
    n_min = min(sizes)
    if n_min == 0:
        raise ValueError("every problem needs at least one response to score")
    correct = [sum(r["accs"]) for r in records]
    summary: dict[str, float] = {}
    for k in sorted({1, *(k_values or default_k_values(n_min))}):
        if k <= n_min:
            summary.update(mean_interval(pass_at_k_scores(correct, sizes, k), n_min).as_dict(f"pass@{k}"))
    summary.update(mean_interval(problem_scores(records, "formats"), n_min).as_dict("format_rate"))
    for column in extra_columns:
        summary.update(mean_interval(problem_scores(records, f"accs_{column}"), n_min).as_dict(f"pass@1_{column}"))
        summary[f"disagreements_{column}"] = sum(
            a != b for r in records for a, b in zip(r["accs"], r[f"accs_{column}"], strict=True))
    summary.update(num_problems=len(records), num_samples=int(sum(sizes)), samples_per_problem=n_min)
    return summary


def metric_names(summary: dict[str, Any]) -> list[str]:
    """The headline metrics of a summary in order: pass@k ascending, then format_rate (no interval keys)."""
    ks = sorted(int(key[5:]) for key in summary if key.startswith("pass@") and key[5:].isdigit())
    return [f"pass@{k}" for k in ks] + (["format_rate"] if "format_rate" in summary else [])
