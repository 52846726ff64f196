"""Issue 20, class 1: answers in prose. Rows are ``(gold, pred, expected)``, written here for the class.

Yes/no answers given as sentences, answers wrapped in qualifiers or in a sentence around one value, and golds
that are short phrases. Near misses: the opposite answer, a negation, a comparative (``at least 5``), another
name, a hedge (``yes or no``).
"""

from __future__ import annotations

import pytest

from .reward_tables import assert_graded, both_ways

YES_NO = both_ways([
    (r"\text{No}", r"\text{No such function exists.}", True),
    ("No", r"\text{There is no such function}", True),
    (r"\text{No}", r"\text{No, there is no such } n", True),
    (r"\text{No}", r"\text{It is impossible.}", True),
    (r"\text{NO}", r"\text{not possible}", True),
    (r"\text{No}", r"\text{No. For example } n = 2 \text{ fails}", True),
    (r"\text{No}", r"\text{Not necessarily}", True),
    (r"\text{No}", r"\text{The answer is no}", True),
    (r"\text{Yes}", r"\text{Yes, it is possible}", True),
    ("Yes", r"\textbf{Yes}", True),
    (r"\text{yes}", r"\text{Yes, for instance } n = 3", True),
    (r"\text{Yes}", r"\text{It is possible}", True),
    (r"\text{Yes}", r"\text{Such a function exists}", True),
    (r"\text{Yes}", r"\text{Yes}, n = 4", True),
    (r"\text{No}", r"\text{Yes, it is possible}", False),
    (r"\text{No}", r"\text{It is possible}", False),
    (r"\text{Yes}", r"\text{No such function exists}", False),
    (r"\text{Yes}", r"\text{It is not possible}", False),
    (r"\text{Yes}", r"\text{Such a function does not exist}", False),
    (r"\text{Yes}", r"\text{Yes or no}", False),  # a hedge
    (r"\text{No}", r"\text{Yes and no}", False),
    (r"\text{Yes}", r"\text{None}", False),
    (r"\text{No}", r"\text{None}", False),
    (r"\text{No}", "0", False),
    (r"\text{Yes}", r"\text{Yes, if } n \text{ is even}", False),  # a condition: no plain answer
    (r"\text{Yes}", r"\text{Possible only for even } n", False),
    (r"\text{No}", r"\text{No, unless } n = 1", False),
    (r"\text{Yes}", "1", False),
])

QUALIFIERS = both_ways([
    ("f(x)=x", r"f(n)=n \text{ for all } n\in\mathbb{N}", True),
    ("f(x)=x", r"f(n)=2n \text{ for all } n\in\mathbb{N}", False),
    ("f(x) = x^2", r"f(x) = x^2 \quad \forall x \in \mathbb{R}", True),
    ("f(x) = x^2", r"f(x) = x^3 \quad \forall x \in \mathbb{R}", False),
    ("f(x) = 2x", r"f(x) = 2x \text{ for every real } x", True),
    ("f(x) = 2x", r"f(x) = 2x+1 \text{ for every real } x", False),
    ("f(n) = n + 1", r"f(n) = n + 1, \; n \in \mathbb{Z}^{+}", True),
    ("f(n) = n + 1", r"f(n) = n - 1, \; n \in \mathbb{Z}^{+}", False),
    ("g(x) = 3", r"g(x) = 3 \text{ for each } x", True),
    ("g(x) = 3", r"g(x) = -3 \text{ for each } x", False),
    ("x^2", r"f(x) = x^2 \text{ for any } x", True),
])

ONE_VALUE_IN_A_SENTENCE = [  # one way: the gold is the value, the answer a sentence around it
    ("5", r"\text{the minimum is } 5", True),
    ("5", r"\text{The maximum value is } 5", True),
    ("12", r"\text{There are } 12 \text{ ways}", True),
    ("12", r"\text{There are } 13 \text{ ways}", False),
    ("5", r"\text{the minimum is } 6", False),
    ("5", r"\text{at least } 5", False),  # comparatives change the answer
    ("5", r"\text{at most } 5", False),
    ("5", r"\text{more than } 5", False),
    ("5", r"\text{not } 5", False),
    (r"\frac{1}{2}", r"\text{The probability is } \frac{1}{2}", True),
    (r"\frac{1}{2}", r"\text{The probability is } \frac{1}{3}", False),
    ("7", r"\text{exactly } 7", True),
    ("7", r"\text{about } 7", False),
]

PHRASE_GOLDS = both_ways([
    (r"\text{Alice}", r"\text{Alice wins}", True),
    (r"\text{Alice}", r"\text{Alice has a winning strategy}", True),
    (r"\text{Alice}", r"\text{Bob}", False),
    (r"\text{Alice}", r"\text{Bob wins}", False),
    (r"\text{Alice}", r"\text{Alice loses}", False),
    (r"\text{Alice}", r"\text{Alice cannot win}", False),
    (r"\text{the second player}", r"\text{Second player wins}", True),
    (r"\text{the second player}", r"\text{The first player wins}", False),
    (r"\text{odd}", r"\text{n is odd}", True),
    (r"\text{odd}", r"\text{n is even}", False),
    (r"\text{odd}", r"\text{n is not odd}", False),
    (r"\text{infinitely many}", r"\text{There are infinitely many}", True),
    (r"\text{infinitely many}", r"\text{finitely many}", False),
    (r"\text{all positive integers}", r"\text{all positive integers } n", True),
    (r"\text{all positive integers}", r"\text{all even positive integers}", False),
    (r"\text{Thursday}", r"\text{It is a Thursday}", True),
    (r"\text{Thursday}", r"\text{It is a Tuesday}", False),
])


@pytest.mark.parametrize(("gold", "pred", "expected"), YES_NO + QUALIFIERS + ONE_VALUE_IN_A_SENTENCE + PHRASE_GOLDS)
def test_prose(gold: str, pred: str, expected: bool) -> None:
    assert_graded(gold, pred, expected)


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        (r"\text{all odd integers}", r"n \text{ odd}", True),
        (r"\text{all odd integers}", r"\text{all odd } n", True),
        (r"\text{all odd integers}", r"\text{all even integers}", False),
        (r"\text{east}", r"\text{easts}", False),  # another word, not a plural of the answer
    ],
)
def test_phrases_without_fillers(gold: str, pred: str, expected: bool) -> None:
    assert_graded(gold, pred, expected)
