"""deepscaler_grpo.evaluation.metrics: pass@k and scoring."""

from __future__ import annotations

import itertools

import pytest

from deepscaler_grpo.evaluation import metrics as ev
from deepscaler_grpo.evaluation.metrics import metric_names

# ----------------------------------------------------------------------------------- pass@k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (10, 3, 1, 0.3),
        (10, 3, 4, 1 - 35 / 210),  # 1 - C(7,4)/C(10,4)
        (16, 2, 8, 1 - 3003 / 12870),  # 1 - C(14,8)/C(16,8)
        (5, 0, 2, 0.0),
        (5, 5, 3, 1.0),
        (4, 1, 4, 1.0),  # k > n - c: every k-subset holds the correct one
        (1024, 1, 512, 0.5),  # big n: product form stays exact where binomials overflow floats
    ],
)
def test_pass_at_k_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert ev.pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of k-subsets of n samples (the first c correct) that contain a correct one."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


def test_pass_at_k_matches_enumeration() -> None:
    for n in range(1, 8):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert ev.pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k), abs=1e-12), (n, c, k)


@pytest.mark.parametrize(("n", "c", "k"), [(4, 5, 1), (4, 1, 0), (4, 1, 5), (3, -1, 1)])
def test_pass_at_k_rejects_bad_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match="pass@k needs"):
        ev.pass_at_k(n, c, k)


@pytest.mark.parametrize(("n", "expected"), [(1, [1]), (2, [1, 2]), (6, [1, 2, 4, 6]), (16, [1, 2, 4, 8, 16])])
def test_default_k_values(n: int, expected: list[int]) -> None:
    assert ev.default_k_values(n) == expected


# ---------------------------------------------------------------------------------- scoring

HANDMADE = [
    # (responses, ground truth, expected accs, expected preds, expected formats)
    (["<answer>3</answer>", "no idea"], "3", [True, False], ["3", None], [True, False]),
    (["<answer>6</answer>", "so \\boxed{5}"], ["5", "6"], [True, True], ["6", "5"], [True, False]),
    (["<answer>142</answer>", "<answer>141</answer>"], 142.0, [True, False], ["142", "141"], [True, True]),
    (["<answer>\\frac{1}{2}</answer>", "<answer>0.5</answer>"], "\\frac12", [True, True], None, [True, True]),
]


def test_score_responses_known_scores() -> None:
    result = ev.score_responses([h[0] for h in HANDMADE], [h[1] for h in HANDMADE], problems=["a", "b", "c", "d"])
    for rec, (responses, truth, accs, preds, formats) in zip(result.records, HANDMADE, strict=True):
        assert rec["responses"] == responses and rec["answer"] == truth
        assert rec["accs"] == accs
        assert rec["scores"] == [float(a) for a in accs]
        assert rec["formats"] == formats
        if preds is not None:
            assert rec["preds"] == preds
    summary = result.summary
    assert summary["pass@1"] == pytest.approx((0.5 + 1 + 0.5 + 1) / 4)
    assert summary["pass@2"] == pytest.approx(1.0)
    assert summary["format_rate"] == pytest.approx(6 / 8)
    assert (summary["num_problems"], summary["num_samples"], summary["samples_per_problem"]) == (4, 8, 2)
    assert metric_names(summary) == ["pass@1", "pass@2", "format_rate"]
    for key in metric_names(summary):  # every metric has its interval
        assert summary[f"{key}_ci_low"] <= summary[key] <= summary[f"{key}_ci_high"]
    assert (summary["pass@2_ci_low"], summary["pass@2_ci_high"]) == pytest.approx((4 / (4 + 1.96**2), 1.0), abs=1e-3)


def test_score_responses_custom_k_and_errors() -> None:
    result = ev.score_responses([["<answer>1</answer>"] * 2 + ["x"] * 2], ["1"], k_values=[1, 3, 8])
    assert result.summary["pass@3"] == pytest.approx(1.0)  # 1 - C(2,3)/C(4,3) with C(2,3) = 0
    assert "pass@8" not in result.summary  # k > n is skipped
    with pytest.raises(ValueError, match="2 response lists but 1 ground truths"):
        ev.score_responses([["a"], ["b"]], ["1"])
    with pytest.raises(ValueError, match="no problems"):
        ev.score_responses([], [])


# ------------------------------------------------------------------------------- generation

