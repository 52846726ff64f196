"""deepscaler_grpo.evaluation.intervals: per-problem pass@k, the interval of a score and the paired test, checked
against hand computations and against simulated evaluations whose true pass rates are known (coverage)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from deepscaler_grpo.evaluation import intervals as iv
from deepscaler_grpo.evaluation.metrics import pass_at_k

Z = 1.959963984540054

# ------------------------------------------------------------------------------------------- pass@k, Wilson


def test_vectorised_pass_at_k_equals_the_scalar_one() -> None:
    cases = [(c, n, k) for n in range(1, 9) for c in range(n + 1) for k in range(1, n + 1)]
    for c, n, k in cases:
        assert iv.pass_at_k_scores([c], [n], k)[0] == pytest.approx(pass_at_k(n, c, k), abs=1e-12), (c, n, k)
    assert iv.pass_at_k_scores([1, 0, 16], [1024, 16, 16], 8)[0] == pytest.approx(8 / 1024, abs=1e-12)
    with pytest.raises(ValueError, match="k <= n"):
        iv.pass_at_k_scores([1], [4], 8)


def test_one_sample_per_problem_is_wilsons_interval() -> None:
    # 12 of 30 right: the textbook Wilson interval on 30 trials
    p, n = 12 / 30, 30
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    got = iv.mean_interval([1.0] * 12 + [0.0] * 18)
    # the sample variance (ddof=1) makes the effective trials N - 1 = 29: a hair wider than Wilson on 30
    assert got.low == pytest.approx(centre - half, abs=0.01) and got.high == pytest.approx(centre + half, abs=0.01)
    assert got.low < centre - half and got.high > centre + half


@pytest.mark.parametrize(("scores", "low", "high"), [
    ([0.0] * 30, 0.0, Z**2 / (30 + Z**2)),  # nothing right: Wilson's upper bound on 30 problems, not [0, 0]
    ([1.0] * 30, 30 / (30 + Z**2), 1.0),
])
def test_scores_that_do_not_vary_keep_a_width(scores: list[float], low: float, high: float) -> None:
    got = iv.mean_interval(scores, samples_per_problem=16)
    assert (got.low, got.high) == pytest.approx((low, high), abs=1e-9)


def test_more_samples_per_problem_narrow_the_interval_only_down_to_the_problems_spread() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 1.0, 30)
    widths = []
    for n in (1, 16, 4096):
        scores = rng.binomial(n, p) / n
        got = iv.mean_interval(scores, n)
        widths.append(got.high - got.low)
    assert widths[0] > widths[1] > widths[2] > 0.2  # 30 problems: even infinite samples leave ~ +-12 points


# ------------------------------------------------------------------------------------------- coverage

REPEATS = 1000


def beta_population(a: float, b: float) -> Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]:
    return lambda rng, shape: rng.beta(a, b, shape)


def beta_pass_at_k(a: float, b: float, k: int) -> float:
    """E[1 - (1 - p)^k] for p ~ Beta(a, b): 1 - prod_{i<k} (b + i) / (a + b + i)."""
    return 1.0 - math.prod((b + i) / (a + b + i) for i in range(k))


def mixed_population(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """40% never solved, 20% always solved, the rest uniform: truth 0.2 + 0.4 * 0.5 = 0.4."""
    u = rng.random(shape)
    return np.where(u < 0.4, 0.0, np.where(u < 0.6, 1.0, rng.random(shape)))


def coverage(population: Callable, truth: float, problems: int, n: int, k: int, method: Callable, seed: int) -> float:
    """Share of REPEATS simulated evaluations (problems drawn from the population, n samples each) whose interval
    holds the population's true pass@k."""
    rng = np.random.default_rng(seed)
    p = population(rng, (REPEATS, problems))
    correct = rng.binomial(n, p)
    hits = 0
    for row in correct:
        scores = iv.pass_at_k_scores(row, [n] * problems, k)
        got = method(scores, n)
        hits += got.low <= truth <= got.high
    return hits / REPEATS


def naive_binomial(scores: list[float], n: int) -> iv.Interval:
    """Wilson on all samples as if independent: ignores that problems differ (what the interval must not do)."""
    p = float(np.mean(scores))
    low, high = iv.wilson(p, len(scores) * n, Z)
    return iv.Interval(p, low, high, 0.0)


@pytest.mark.parametrize(("name", "population", "truth", "problems", "n", "k"), [
    ("AIME-like, 16 samples", beta_population(0.5, 1.0), beta_pass_at_k(0.5, 1.0, 1), 30, 16, 1),
    ("AIME-like pass@8", beta_population(0.3, 3.0), beta_pass_at_k(0.3, 3.0, 8), 30, 16, 8),
    ("AMC-like, 4 samples", beta_population(2.0, 2.0), 0.5, 83, 4, 1),
    ("MATH500 greedy, many 0% and 100% problems", mixed_population, 0.4, 500, 1, 1),
])
def test_interval_covers_the_truth_at_its_nominal_rate(name: str, population: Callable, truth: float, problems: int,
                                                       n: int, k: int) -> None:
    got = coverage(population, truth, problems, n, k, iv.mean_interval, seed=1)
    assert abs(got - 0.95) <= 0.03, f"{name}: coverage {got:.3f}"


def test_the_simulation_catches_an_interval_that_ignores_the_problems_spread() -> None:
    got = coverage(beta_population(0.5, 1.0), beta_pass_at_k(0.5, 1.0, 1), 30, 16, 1, naive_binomial, seed=1)
    assert got < 0.80  # measured 0.535: 480 samples of 30 problems are not 480 independent trials


# ------------------------------------------------------------------------------------------- paired test


@pytest.mark.parametrize(("b_only", "a_only"), [(5, 1), (10, 5), (3, 3), (0, 7), (12, 0)])
def test_one_sample_sign_flip_test_is_mcnemars_exact_test(b_only: int, a_only: int) -> None:
    differences = [1.0] * b_only + [-1.0] * a_only + [0.0] * 20
    discordant = b_only + a_only
    tail = sum(math.comb(discordant, i) for i in range(min(b_only, a_only) + 1)) / 2**discordant
    assert iv.sign_flip_p_value(differences) == pytest.approx(min(1.0, 2 * tail), abs=1e-12)


def test_sign_flip_test_enumerates_fractional_differences() -> None:
    # differences in quarters (4 samples per problem): enumerate the 2^5 sign patterns by hand
    d = [0.25, 0.5, 0.75, -0.25, 1.0]
    observed = abs(sum(d))
    patterns = [[s * x for s, x in zip(signs, d)] for signs in np.array(np.meshgrid(*[[-1, 1]] * 5)).T.reshape(-1, 5)]
    expected = sum(abs(sum(p)) >= observed - 1e-9 for p in patterns) / 32
    assert iv.sign_flip_p_value(d, samples_per_problem=4) == pytest.approx(expected)
    assert iv.sign_flip_p_value([0.0, 0.0]) == 1.0


def paired_simulation(problems: int, n: int, shift: float, seed: int) -> tuple[float, float]:
    """(coverage of the true difference, share of p < 0.05) over REPEATS simulated pairs of evaluations: B's
    per-problem rates are A's shifted by ``shift`` on the logit scale (A's rates ~ Beta(0.5, 1))."""
    rng = np.random.default_rng(seed)
    pa = np.clip(rng.beta(0.5, 1.0, (REPEATS, problems)), 1e-9, 1 - 1e-9)
    pb = 1 / (1 + np.exp(-(np.log(pa / (1 - pa)) + shift)))
    population = np.clip(np.random.default_rng(99).beta(0.5, 1.0, 500_000), 1e-12, 1 - 1e-12)
    truth = float(np.mean(1 / (1 + np.exp(-(np.log(population / (1 - population)) + shift))) - population))
    sa, sb = rng.binomial(n, pa) / n, rng.binomial(n, pb) / n
    results = [iv.paired_difference(a, b, n) for a, b in zip(sa, sb)]
    covered = np.mean([r.difference.low <= truth <= r.difference.high for r in results])
    rejected = np.mean([r.p_value < 0.05 for r in results])
    return float(covered), float(rejected)


@pytest.mark.parametrize(("problems", "n"), [(30, 1), (83, 16)])
def test_paired_interval_coverage_and_test_size(problems: int, n: int) -> None:
    covered, _ = paired_simulation(problems, n, shift=0.5, seed=2)
    assert abs(covered - 0.95) <= 0.03, covered
    covered_null, false_alarms = paired_simulation(problems, n, shift=0.0, seed=3)
    assert covered_null >= 0.92 and false_alarms <= 0.06  # an exact test: at most its 5% (discreteness: less)


def test_paired_test_detects_a_real_gain() -> None:
    _, power = paired_simulation(83, 1, shift=1.5, seed=4)
    assert power > 0.8  # a ~21-point gain on 83 problems, one sample each


def test_average_of_benchmarks() -> None:
    a, b = iv.Interval(0.4, 0.3, 0.5, 0.05), iv.Interval(0.8, 0.7, 0.9, 0.05)
    avg = iv.combined_mean([a, b])
    assert avg.estimate == pytest.approx(0.6) and avg.se == pytest.approx(math.sqrt(2 * 0.05**2) / 2)
    assert avg.high - avg.estimate == pytest.approx(Z * avg.se)
