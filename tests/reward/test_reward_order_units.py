"""Issue 20, false positives a policy can learn: the order a question asks for, and units.

Order rows are ``(question, gold, pred, expected)``: bare lists are unordered unless the question asks for an
order; a list of tuples stays unordered at the top. Unit rows are ``(gold, pred, expected)``: when both sides
carry a unit, the units must agree or convert exactly; a unit on one side only is stripped as before.
"""

from __future__ import annotations

import pickle

import pytest

from deepscaler_grpo.reward import VerifierPolicy, check, compute_score, make_reward_funcs, score_batch, verify

from .reward_tables import assert_graded, both_ways

INCREASING = "Find all real roots of the polynomial and list them in increasing order."
DECREASING = "Order the numbers from greatest to least."
PAIR = "Find the ordered pair $(x, y)$ that solves the system."
ALL_PAIRS = "Find all ordered pairs $(x,y)$ of positive integers such that $xy = 2$."
NAMED = "Find $a$, $b$, and $c$."
RESPECTIVELY = "The two numbers are the sum and the product of the roots, respectively. Find them."
IN_ORDER_TO = "In order to solve the equation, factor it. Find all solutions."
NO_ORDER = "Find all solutions of $x^3 - 6x^2 + 11x - 6 = 0$."

ORDER = [
    (INCREASING, "1, 2, 3", "1, 2, 3", True),
    (INCREASING, "1, 2, 3", "3, 2, 1", False),
    (INCREASING, "1, 2, 3", "(1, 2, 3)", True),
    (INCREASING, "1, 2, 3", r"\{1, 2, 3\}", True),
    (INCREASING, "1, 2, 3", "1, 3, 2", False),
    (INCREASING, r"-\sqrt{2}, \sqrt{2}", r"\sqrt{2}, -\sqrt{2}", False),
    (INCREASING, r"-\sqrt{2}, \sqrt{2}", r"-\sqrt2, \sqrt2", True),
    (DECREASING, r"\pi, 3, \sqrt{2}", r"\sqrt{2}, 3, \pi", False),
    (DECREASING, r"\pi, 3, \sqrt{2}", r"\pi, 3, \sqrt{2}", True),
    (PAIR, "(2, 3)", "2, 3", True),
    (PAIR, "(2, 3)", "3, 2", False),
    (PAIR, "2, 3", "3, 2", False),
    (ALL_PAIRS, "(1, 2), (2, 1)", "(2, 1), (1, 2)", True),  # the pairs in any order, each pair in order
    (ALL_PAIRS, "(1, 2), (2, 1)", "(1, 2), (1, 2)", False),
    (NAMED, "1, 2, 3", "3, 2, 1", False),
    (NAMED, "1, 2, 3", "1, 2, 3", True),
    (NAMED, "a = 1, b = 2, c = 3", "c = 3, a = 1, b = 2", True),
    (NAMED, "1, 2, 3", "c = 3, a = 1, b = 2", True),  # labels say which value is which
    (NAMED, "a = 1, b = 2, c = 3", "c = 1, a = 2, b = 3", False),
    (RESPECTIVELY, "5, 7", "7, 5", False),
    (IN_ORDER_TO, "1, 2", "2, 1", True),  # "in order to" asks for no order
    (NO_ORDER, "1, 2, 3", "3, 2, 1", True),
    (None, "1, 2, 3", "3, 2, 1", True),
]


@pytest.mark.parametrize(("question", "gold", "pred", "expected"), ORDER)
def test_order_from_the_question(question: str | None, gold: str, pred: str, expected: bool) -> None:
    assert verify(pred, gold, question=question) is expected, check(pred, gold, question=question)


def test_order_from_the_question_can_be_switched_off() -> None:
    policy = VerifierPolicy(order_from_prompt=False)
    assert verify("3, 2, 1", "1, 2, 3", question=INCREASING, policy=policy) is True


def test_the_question_reaches_every_entry_point() -> None:
    response = "<answer>3, 2, 1</answer>"
    assert compute_score("m", response, "1, 2, 3", extra_info={"question": INCREASING})["acc"] is False
    assert compute_score("m", response, "1, 2, 3", extra_info={"problem": NO_ORDER})["acc"] is True
    assert compute_score("m", response, "1, 2, 3", question=INCREASING)["acc"] is False
    assert [r["acc"] for r in score_batch([response] * 2, ["1, 2, 3"] * 2, questions=[INCREASING, None])] == [
        False, True]
    funcs, _ = make_reward_funcs()
    chat = [[{"role": "system", "content": "be brief"}, {"role": "user", "content": INCREASING}], NO_ORDER]
    assert funcs[0]([response, response], answer=["1, 2, 3"] * 2, prompts=chat) == [0.0, 1.0]
    assert pickle.loads(pickle.dumps(funcs[0]))([response], ["1, 2, 3"], problem=[INCREASING]) == [0.0]


UNITS = both_ways([
    (r"10 \text{ km}", r"10 \text{ m}", False),
    (r"1 \text{ km}", r"1000 \text{ m}", True),
    (r"1 \text{ km}", r"100 \text{ m}", False),
    (r"10 \text{ km}", "10", True),  # a unit on one side only is stripped
    (r"5 \text{ cm}", r"50 \text{ mm}", True),
    (r"5 \text{ cm}", r"5 \text{ mm}", False),
    (r"5 \text{ cm}", r"5 \text{ centimeters}", True),
    (r"2 \text{ hours}", r"120 \text{ minutes}", True),
    (r"2 \text{ hours}", r"2 \text{ minutes}", False),
    (r"3 \text{ kg}", r"3 \text{ m}", False),
    (r"3 \text{ kg}", r"3000 \text{ g}", True),
    (r"60 \text{ mph}", r"60 \text{ km/h}", False),
    (r"1 \text{ ft}", r"12 \text{ inches}", True),
    (r"1 \text{ ft}", r"12 \text{ cm}", False),
    (r"2.5 \mathrm{~m/s}", r"9 \text{ km/h}", True),
    (r"2.5 \mathrm{~m/s}", r"2.5 \text{ km/h}", False),
    (r"20 \text{ cm}^2", r"2000 \text{ mm}^2", True),
    (r"20 \text{ cm}^2", r"20 \text{ mm}^2", False),
    (r"5 \text{ dollars}", r"500 \text{ cents}", True),
    (r"5 \text{ dollars}", r"5 \text{ cents}", False),
    (r"4\sqrt{2} \text{ cm}", r"4\sqrt{2} \text{ m}", False),
    (r"4\sqrt{2} \text{ cm}", r"4\sqrt{2} \text{ centimeters}", True),
    (r"4\sqrt{2} \text{ cm}", r"4\sqrt{2}", True),
    (r"12 \text{ ways}", r"12 \text{ arrangements}", True),  # words that are no known unit: stripped
])


@pytest.mark.parametrize(("gold", "pred", "expected"), UNITS)
def test_units(gold: str, pred: str, expected: bool) -> None:
    assert_graded(gold, pred, expected)


def test_units_can_be_left_unread() -> None:
    assert verify(r"10 \text{ m}", r"10 \text{ km}", policy=VerifierPolicy(units=False)) is True
