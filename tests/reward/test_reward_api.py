"""verl compute_score and TRL reward functions."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

from deepscaler_grpo.reward import (
    accuracy_reward,
    compute_score,
    format_reward,
    make_reward_funcs,
    score_batch,
)


def test_compute_score_has_verl_signature() -> None:
    params = list(inspect.signature(compute_score).parameters)
    assert params[:4] == ["data_source", "solution_str", "ground_truth", "extra_info"]
    assert inspect.signature(compute_score).parameters["extra_info"].default is None


@pytest.mark.parametrize(
    ("solution", "ground_truth", "score", "pred", "fmt"),
    [
        ("think... <answer>\\dfrac{3}{4}</answer>", "0.75", 1.0, "\\dfrac{3}{4}", True),
        ("<answer>142</answer>", 142.0, 1.0, "142", True),
        ("so \\boxed{142}", 142.0, 1.0, "142", False),
        ("<answer>141</answer>", 142.0, 0.0, "141", True),
        ("<answer></answer> \\boxed{142}", "142", 0.0, None, False),
        ("the answer is 142", "142", 0.0, None, False),
        ("<answer>x = 5</answer>", np.array(["5", "x=5"]), 1.0, "x = 5", True),
    ],
)
def test_compute_score(solution: str, ground_truth: object, score: float, pred: str | None, fmt: bool) -> None:
    result = compute_score("math", solution, ground_truth, extra_info={"index": 0})
    assert result["score"] == score
    assert result["acc"] is (score == 1.0)
    assert result["pred"] == pred
    assert result["format"] is fmt


def test_compute_score_boxed_fallback_kwarg() -> None:
    assert compute_score("m", "\\boxed{3}", "3", boxed_fallback=False)["score"] == 0.0


def test_compute_score_never_raises_on_odd_types() -> None:
    for solution in (None, 5, b"bytes", ["<answer>3</answer>"]):
        assert compute_score("m", solution, "3")["score"] == 0.0  # type: ignore[arg-type]


def test_accuracy_reward_strings_and_chat_messages() -> None:
    completions = [
        "<answer>3</answer>",
        [{"role": "assistant", "content": "<answer>4</answer>"}],
        [{"role": "assistant", "content": [{"type": "text", "text": "<answer>\\frac{6}{2}</answer>"}]}],
        "no answer",
    ]
    assert accuracy_reward(completions, ["3", "3", "3", "3"]) == [1.0, 0.0, 1.0, 0.0]


def test_accuracy_reward_prefers_reward_model_ground_truth_lists() -> None:
    completions = ["<answer>0.5</answer>", "<answer>7</answer>"]
    reward_model = [{"style": "rule", "ground_truth": ["1/2", "0.5"]}, {"style": "rule", "ground_truth": None}]
    assert accuracy_reward(completions, ["\\frac12", "7"], reward_model=reward_model) == [1.0, 1.0]


def test_accuracy_reward_ignores_trl_extra_kwargs() -> None:
    rewards = accuracy_reward(
        ["<answer>2</answer>"], answer=["2"], prompts=["p"], completion_ids=[[1]], trainer_state=None
    )
    assert rewards == [1.0]


def test_format_reward() -> None:
    completions = ["<answer>1</answer>", "\\boxed{1}", [{"role": "assistant", "content": "<answer> </answer>"}]]
    assert format_reward(completions) == [1.0, 0.0, 0.0]


def test_make_reward_funcs_for_grpo_trainer() -> None:
    funcs, weights = make_reward_funcs(format_weight=0.2, boxed_fallback=False)
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "format_reward"]
    assert weights == [1.0, 0.2]
    assert funcs[0](["\\boxed{2}", "<answer>2</answer>"], answer=["2", "2"]) == [0.0, 1.0]
    assert pickle.loads(pickle.dumps(funcs[0]))(["<answer>2</answer>"], ["2"]) == [1.0]
    with pytest.raises(ValueError, match="timeout_s"):
        make_reward_funcs(timeout_s=0)


def test_score_batch_mixes_fast_and_symbolic() -> None:
    solutions = ["<answer>n^2-n</answer>", "<answer>3</answer>", "<answer>n^2+n</answer>", "nothing"]
    results = score_batch(solutions, ["n(n-1)", "3", "n(n-1)", "1"])
    assert [r["score"] for r in results] == [1.0, 1.0, 0.0, 0.0]
    assert [r["method"] for r in results] == ["symbolic", "fast", "symbolic", "empty"]
