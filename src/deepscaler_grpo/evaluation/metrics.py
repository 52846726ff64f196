"""Metrics of an evaluation: the verifier's scores per response, pass@k, format rate and counts.

pass@1 is the mean accuracy over the n samples (averaged over problems); pass@k uses the unbiased
estimator ``1 - C(n-c, k) / C(n, k)`` (Chen et al., 2021) in its numerically stable product form;
format rate is the fraction of responses with a non-empty ``<answer>`` tag.

    from deepscaler_grpo.evaluation.metrics import pass_at_k, score_responses
    pass_at_k(n=16, c=4, k=8)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

BatchScorer = Callable[[list[str], list[Any]], list[dict[str, Any]]]


@dataclass
class EvalResult:
    """Scores of one evaluation: ``summary`` (pass@k, format_rate, counts) and one record per problem."""

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


def default_scorer() -> BatchScorer:
    """The project's verifier, batched (``deepscaler_grpo.reward.score_batch``: symbolic checks in parallel)."""
    from deepscaler_grpo.reward import score_batch

    return score_batch


def score_responses(
    responses: list[list[str]],
    ground_truths: list,
    k_values: Sequence[int] | None = None,
    *,
    problems: Sequence[str] | None = None,
    scorer: BatchScorer | None = None,
) -> EvalResult:
    """Score ``responses[i][j]`` (sample j of problem i) against ``ground_truths[i]``.

    Returns pass@1 (mean accuracy over samples), pass@k for each k <= n, the format rate and counts.
    ``scorer(texts, truths) -> [{score, acc, pred, format}]`` defaults to the project's verifier.
    """
    if len(responses) != len(ground_truths):
        raise ValueError(f"{len(responses)} response lists but {len(ground_truths)} ground truths")
    if not responses:
        raise ValueError("nothing to score: no problems were given")
    flat = [(i, text) for i, samples in enumerate(responses) for text in samples]
    results = iter((scorer or default_scorer())([t for _, t in flat], [ground_truths[i] for i, _ in flat]))
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


def summarize(records: list[dict[str, Any]], k_values: Sequence[int] | None = None) -> dict[str, float]:
    """pass@k / format rate / counts from per-problem records with ``accs`` and ``formats`` lists."""
    import numpy as np

    sizes = [len(r["accs"]) for r in records]
    n_min = min(sizes)
    if n_min == 0:
        raise ValueError("every problem needs at least one response to score")
    ks = sorted(set(k_values)) if k_values else default_k_values(n_min)
    summary: dict[str, float] = {}
    for k in ks:
        if k <= n_min:
            summary[f"pass@{k}"] = float(np.mean([pass_at_k(len(r["accs"]), sum(r["accs"]), k) for r in records]))
    summary["pass@1"] = float(np.mean([np.mean(r["accs"]) for r in records]))
    summary["format_rate"] = float(np.mean([f for r in records for f in r["formats"]]))
    summary["num_problems"] = len(records)
    summary["num_samples"] = int(sum(sizes))
    summary["samples_per_problem"] = n_min
    return dict(sorted(summary.items(), key=_summary_order))


def _summary_order(item: tuple[str, float]) -> tuple[int, int]:
    key = item[0]
    if key.startswith("pass@"):
        return (0, int(key[5:]))
    return (1, ["format_rate", "num_problems", "num_samples", "samples_per_problem"].index(key))

