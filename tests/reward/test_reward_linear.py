"""Issue 20: the verifier's in-process time is linear in the response, with a hard input cap.

In-process time is CPU time of this process (``time.process_time``), so waiting for a worker and other
programs on a loaded machine do not count. The bound is 10x the 50 ms/MB target plus a constant: a quadratic
step (10,000 ``\\boxed{`` took > 10 s) is far outside it at these sizes, while a busy 2-core CI machine is not.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepscaler_grpo.reward import extract_answer, get_pool
from deepscaler_grpo.reward.adversarial import PIECES, adversarial_responses, in_process_seconds
from deepscaler_grpo.reward.extract import MAX_RESPONSE_CHARS

BASE_S = 0.25
S_PER_MB = 0.5
GOLDS = ["1", "x^2+1", "(1, 3]", "40 \\text{ apples}, 60 \\text{ pears}", "\\frac{\\sqrt{3}}{2}", "\\text{Yes}"]


def bound(chars: int) -> float:
    return BASE_S + S_PER_MB * min(chars, MAX_RESPONSE_CHARS) / 1e6


@pytest.fixture(scope="module", autouse=True)
def _warm_pool() -> None:
    get_pool().warm_up()  # starting workers is not per-answer work


@pytest.mark.parametrize("size", [20_000, 1_000_000])
def test_adversarial_responses_stay_under_a_linear_bound(size: int) -> None:
    slow = []
    for name, text in adversarial_responses(size):
        for gold in GOLDS:
            seconds = in_process_seconds(text, gold, timeout_s=1.0)
            if seconds > bound(len(text)):
                slow.append((name, gold, len(text), round(seconds, 3)))
    assert not slow, slow


def test_responses_over_the_cap_cost_no_more_than_the_cap() -> None:
    text = "\\boxed{" * (3 * MAX_RESPONSE_CHARS // 7) + "\\boxed{7}"
    assert extract_answer(text) == "7"  # the tail is what is read
    assert in_process_seconds(text, "7") <= bound(MAX_RESPONSE_CHARS) + 0.05  # slicing off the head is a copy


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=30),
    st.integers(1, 40_000),
    st.sampled_from(GOLDS),
    st.sampled_from(["{}", "<answer>{}</answer>", "\\boxed{{{}}}", "so $\\boxed{{1}}$ and {}"]),
)
def test_random_mixes_of_parsed_commands_stay_under_the_bound(
    pieces: list[str], repeats: int, gold: str, frame: str
) -> None:
    text = frame.format(("".join(pieces) * repeats)[:1_000_000])
    assert in_process_seconds(text, gold, timeout_s=1.0) <= bound(len(text))


@pytest.mark.parametrize("count", [1_000, 10_000, 100_000])
def test_unclosed_boxes_are_linear(count: int) -> None:
    """The regression of issue 20: 10,000 ``\\boxed{`` took over 10 s (quadratic)."""
    text = "\\boxed{" * count
    assert in_process_seconds(text, "1") <= bound(len(text))
    assert extract_answer(text) is None
