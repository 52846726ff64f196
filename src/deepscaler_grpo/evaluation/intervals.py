"""95% intervals for every evaluation number, and the paired test behind ``deepscaler-grpo compare``.

* :func:`pass_at_k_scores`: the unbiased per-problem pass@k estimate (Chen et al., 2021), vectorised.
* :func:`mean_interval`: the interval of a benchmark score (a mean of per-problem scores in [0, 1]). It covers both
  sources of noise: which problems the benchmark happens to hold, and which samples each problem happened to get.
  Method: the Wilson score interval on the *effective number of trials* ``p(1-p) / SE^2`` (Kish's design effect, as
  Korn & Graubard 1998 use it for clustered proportions), where ``SE`` is the standard error of the mean of the
  per-problem scores (the clustered standard error of Miller 2024, "Adding error bars to evals"). With one sample per
  problem this is Wilson's interval on N problems; it stays inside [0, 1] and keeps a width at 0% and 100% (where the
  per-problem scores do not vary, the problems themselves are taken as the trials).
* :func:`paired_difference`: B - A on the same problems: the Agresti-Min interval for paired proportions (0.5 added
  to each cell of the paired 2x2 table; with n samples per problem the pseudo-counts are scaled by 1/n) and the exact
  two-sided sign-flip (paired permutation) test of the per-problem differences, computed by convolution (no sampling,
  no seed). With one sample per problem the test is McNemar's exact test.

Coverage measured by simulation (``tests/evaluation/test_intervals.py``; README: Evaluation).

    from deepscaler_grpo.evaluation.intervals import mean_interval, paired_difference
    mean_interval([1, 0, 0.5, 0.25], samples_per_problem=4)     # Interval(estimate=0.4375, low=..., high=...)
    paired_difference(before_scores, after_scores, samples_per_problem=1).p_value
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95
INTERVAL_METHOD = ("Wilson score interval on the effective number of trials p(1-p)/SE^2, SE = standard error of "
                   "the mean of per-problem scores (covers problem sampling and per-problem sample noise)")
PAIRED_METHOD = ("Agresti-Min interval for paired proportions (pseudo-counts scaled by 1/n) and the exact two-sided "
                 "sign-flip permutation test of per-problem differences (McNemar's exact test for n = 1)")


@dataclass(frozen=True)
class Interval:
    """A score and its interval, all fractions in [0, 1] (differences in [-1, 1]); ``se`` is the standard error."""

    estimate: float
    low: float
    high: float
    se: float

    def as_dict(self, name: str) -> dict[str, float]:
        """``{name: estimate, name_ci_low: low, name_ci_high: high}``: the keys of summary.json and metrics rows."""
        return {name: self.estimate, f"{name}_ci_low": self.low, f"{name}_ci_high": self.high}


@dataclass(frozen=True)
class PairedResult:
    """B - A on the same problems: the mean difference, its interval and the test's p-value."""

    difference: Interval
    p_value: float
    num_problems: int


def z_value(confidence: float = CONFIDENCE) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def pass_at_k_scores(correct: Sequence[int], samples: Sequence[int], k: int) -> list[float]:
    """Per-problem unbiased pass@k: ``1 - C(n-c, k) / C(n, k)`` for each (c, n); needs k <= every n.

    Computed as ``1 - prod_{i=n-c+1}^{n} (1 - k/i)`` on log scale, so big n never builds huge binomials."""
    import numpy as np

    c, n = np.asarray(correct, dtype=np.int64), np.asarray(samples, dtype=np.int64)
    if c.shape != n.shape or np.any(c < 0) or np.any(c > n) or k < 1 or np.any(n < k):
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n for every problem (k={k})")
    top = int(n.max()) if n.size else 0
    # log(1 - k/i) for i = 1..top, 0 for i <= k: those terms are only in the product when n - c < k (pass@k = 1)
    i = np.arange(1, top + 1, dtype=float)
    logs = np.log1p(-k / np.maximum(i, k + 1.0)) * (i > k)
    cumulative = np.concatenate([[0.0], np.cumsum(logs)])
    product = np.exp(cumulative[n] - cumulative[n - c])
    return [float(v) for v in np.where(n - c >= k, 1.0 - product, 1.0)]


def mean_interval(scores: Sequence[float], samples_per_problem: int = 1, confidence: float = CONFIDENCE) -> Interval:
    """The interval of the mean of per-problem scores (see the module docstring for the method)."""
    import numpy as np

    x = np.asarray(scores, dtype=float)
    if x.size == 0:
        raise ValueError("an interval needs at least one problem")
    n_problems, p = x.size, float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n_problems)) if n_problems > 1 else 0.0
    trials = effective_trials(p, se, n_problems, n_problems * max(samples_per_problem, 1))
    low, high = wilson(p, trials, z_value(confidence))
    return Interval(p, low, high, se)


def effective_trials(p: float, se: float, n_problems: int, n_samples: int) -> float:
    """``p(1-p)/se^2`` kept between the problems (all samples of a problem alike) and the samples (all independent);
    the problems when the scores do not vary (0%, 100%, or every problem alike)."""
    if se <= 0 or p <= 0 or p >= 1:
        return float(n_problems)
    return min(max(p * (1 - p) / se**2, float(max(n_problems - 1, 1))), float(n_samples))


def wilson(p: float, trials: float, z: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``p`` observed over ``trials`` (may be fractional)."""
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_difference(
    a: Sequence[float], b: Sequence[float], samples_per_problem: int = 1, confidence: float = CONFIDENCE
) -> PairedResult:
    """B - A of per-problem scores on the same problems (``a[i]`` and ``b[i]`` are problem i's)."""
    import numpy as np

    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.shape != xb.shape or xa.size == 0:
        raise ValueError(f"paired scores need the same problems on both sides, got {xa.size} and {xb.size}")
    d = xb - xa
    # Agresti-Min: pseudo-problems with differences +1 and -1 (weight w/2 each) and 0 (weight w), w = 1/n
    w = 1.0 / max(samples_per_problem, 1)
    total = d.size + 2 * w
    mean = float(d.sum() / total)
    var = max(float((np.square(d).sum() + w) / total - mean**2), 0.0) / total
    se = math.sqrt(var)
    z = z_value(confidence)
    interval = Interval(float(d.mean()), max(-1.0, mean - z * se), min(1.0, mean + z * se), se)
    return PairedResult(interval, sign_flip_p_value(d, samples_per_problem), int(d.size))


def sign_flip_p_value(differences: Sequence[float], samples_per_problem: int = 1) -> float:
    """Exact two-sided p-value of the paired permutation test: under "A and B are exchangeable on every problem"
    each difference is as likely negated; P(|sum of randomly signed differences| >= |observed sum|).

    The differences are multiples of 1/n (n samples per problem on both sides), so the null distribution of the
    sum is a convolution over integers: exact, with no resampling."""
    import numpy as np

    units = np.rint(np.abs(np.asarray(differences, dtype=float)) * samples_per_problem).astype(np.int64)
    units = units[units > 0]
    observed = abs(int(np.rint(np.sum(differences) * samples_per_problem)))
    if units.size == 0:
        return 1.0
    # the sum's distribution over -span..span, built up one difference at a time (each +u or -u, probability 1/2);
    # only the reachable window [centre - reach, centre + reach] is touched
    span = int(units.sum())
    probs, spare = np.zeros(2 * span + 1), np.zeros(2 * span + 1)
    probs[span], reach = 1.0, 0
    for u in units.tolist():
        lo, hi = span - reach, span + reach + 1
        spare[lo - u : hi + u] = 0.0
        spare[lo - u : hi - u] += probs[lo:hi]
        spare[lo + u : hi + u] += probs[lo:hi]
        spare[lo - u : hi + u] *= 0.5
        probs, spare, reach = spare, probs, reach + u
    values = np.abs(np.arange(-span, span + 1))
    return float(min(1.0, probs[values >= observed].sum()))


def combined_mean(intervals: Sequence[Interval], confidence: float = CONFIDENCE) -> Interval:
    """The unweighted mean of independent scores (e.g. DeepScaleR's "Avg." over benchmarks) with a normal interval
    from their standard errors."""
    if not intervals:
        raise ValueError("nothing to average")
    mean = sum(i.estimate for i in intervals) / len(intervals)
    se = math.sqrt(sum(i.se**2 for i in intervals)) / len(intervals)
    z = z_value(confidence)
    return Interval(mean, max(0.0, mean - z * se), min(1.0, mean + z * se), se)
