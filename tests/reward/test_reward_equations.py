"""Issue 20, class 2: an equation against an expression, and labels. Rows are ``(gold, pred, expected)``.

``y = 2x+1`` for ``2x+1`` and back, ``x \\approx 11`` for ``11`` (never reduced to ``x``), subscripts written
with or without braces (``y_{1} = 3`` / ``y_1 = 3``), labels naming a quantity (``P(A) = ...``). Near
misses: another value, another name, another index, an equation with other variables.
"""

from __future__ import annotations

import pytest

from .reward_tables import assert_graded, both_ways

EQUATION_OR_EXPRESSION = both_ways([
    ("2x+1", "y = 2x+1", True),
    ("2x+1", "y = 2x-1", False),
    ("y = 2x+1", "y = 1+2x", True),
    ("y = 2x+1", "x = 2y+1", False),
    ("2x+1", "f(x) = 2x+1", True),
    ("2x+1", "f(x) = 2x+2", False),
    ("3x^2 - 1", r"g(x) = 3x^{2} - 1", True),
    ("x^2+y^2=25", "y^2 = 25 - x^2", True),
    ("x^2+y^2=25", "x^2+y^2=5", False),
    ("x + y = 1", "a + b = 1", False),
    ("k = 4", "4", True),
    ("k = 4", "k = 5", False),
    ("-1", "x = -1", True),
    ("-1", "x = 1", False),
])

APPROXIMATELY = both_ways([
    ("11", r"x \approx 11", True),
    ("11", r"x \approx 12", False),
    ("11", r"t \approx 11", True),
    ("x", r"x \approx 11", False),  # a variable gold is not the value of x
    (r"2\sqrt{3}", r"AB = 2\sqrt{3} \approx 3.46", True),
    (r"2\sqrt{3}", r"AB = 2\sqrt{2} \approx 2.83", False),
    ("250", r"N \approx 250", True),
])

SUBSCRIPTS_AND_LABELS = both_ways([
    ("y_{1} = 3", "y_1 = 3", True),
    ("y_{1} = 3", "y_2 = 3", False),
    ("y_{1} = 3", "y_{1} = 4", False),
    ("a_{n} = 2n", "a_n = 2n", True),
    ("a_{n} = 2n", "a_n = 2n+1", False),
    ("a_{n} = 2n", "b_n = 2n", False),
    ("3", "a_{10} = 3", True),
    ("3", "a_{10} = 4", False),
    (r"x_{1} = 2, x_{2} = 5", "x_1 = 5, x_2 = 2", True),  # indexed roots: no order
    (r"x_{1} = 2, x_{2} = 5", "x_1 = 2, x_2 = 6", False),
    (r"\frac{1}{2}", r"P(A) = \frac{1}{2}", True),
    (r"\frac{1}{2}", r"P(A) = \frac{1}{3}", False),
    ("10", r"n = 10 \text{ students}", True),
    ("10", r"n = 11 \text{ students}", False),
])


@pytest.mark.parametrize(("gold", "pred", "expected"), EQUATION_OR_EXPRESSION + APPROXIMATELY + SUBSCRIPTS_AND_LABELS)
def test_equations_and_labels(gold: str, pred: str, expected: bool) -> None:
    assert_graded(gold, pred, expected)


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [(r"\pi", r"\pi \approx 3.1415927", True), ("e", r"e \approx 2.718", True), (r"\pi", r"\pi \approx 3.15", True)],
)
def test_constants_are_not_names(gold: str, pred: str, expected: bool) -> None:
    assert_graded(gold, pred, expected)
