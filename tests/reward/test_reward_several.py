"""Issue 20, class 3: several answers. Rows are ``(gold, pred, expected)``, written here for the class.

``\\pm`` inside a set, alternatives joined by "or" in the gold, an order chain (``a<b<c``) against a list, a
region with an isolated point (``a \\le -2 \\text{ or } a = 1`` = ``(-\\infty,-2]\\cup\\{1\\}``). Near misses: a
dropped or changed item, the reversed chain, an open endpoint, another isolated point.
"""

from __future__ import annotations

import pytest

from .reward_tables import assert_graded, both_ways

PLUS_MINUS_IN_SETS = both_ways([
    (r"\{1+\sqrt5,1-\sqrt5,-2\}", r"\{1\pm\sqrt5,-2\}", True),
    (r"\{1\pm\sqrt{5}, -2\}", r"\{1+\sqrt{5}, -2\}", False),
    (r"\{1\pm\sqrt{5}, -2\}", r"\{1+\sqrt{5}, 1-\sqrt{5}, 2\}", False),
    (r"\{\pm 2, 0\}", r"\{2, -2, 0\}", True),
    (r"\{\pm 2, 0\}", r"\{2, 0\}", False),
    (r"\left\{ \pm \frac{1}{2} \right\}", r"\{-\frac12, \frac12\}", True),
    (r"\left\{ \pm \frac{1}{2} \right\}", r"\{\frac12\}", False),
])

ALTERNATIVES = both_ways([
    (r"3 \text{ or } 5", "5, 3", True),
    (r"3 \text{ or } 5", "3", False),
    (r"3 \text{ or } -5", "3, 5", False),
    (r"x = 3 \text{ or } x = 5", "3, 5", True),
    (r"x = 3 \text{ or } x = 5", "x = 3, x = 6", False),
    (r"2 \text{ or } \frac{1}{2}", r"\frac12, 2", True),
    (r"2 \text{ or } \frac{1}{2}", r"\frac12, -2", False),
    (r"n = 1 \text{ or } n = 7", r"n \in \{1, 7\}", True),
    (r"n = 1 \text{ or } n = 7", r"n \in \{1, 8\}", False),
])

ORDER_CHAINS = [  # one way: a chain fixes an order, a bare list in the same order says it too
    ("a<b<c", "a, b, c", True),
    ("a<b<c", "c, b, a", False),
    ("a<b<c", "c>b>a", True),
    ("a<b<c", "a<c<b", False),
    ("c < a < b", "c, a, b", True),
    ("c < a < b", "a, b, c", False),
    (r"z < x < y", r"z < x < y", True),
    (r"\sqrt{2} < \frac{3}{2} < \pi", r"\sqrt2, \frac32, \pi", True),
    (r"\sqrt{2} < \frac{3}{2} < \pi", r"\pi, \frac32, \sqrt2", False),
    ("a, b, c", "a<b<c", True),
    ("c, b, a", "a<b<c", False),
]

REGIONS_WITH_POINTS = both_ways([
    (r"(-\infty,-2]\cup\{1\}", r"a \leqslant -2 \text{ or } a = 1", True),
    (r"(-\infty,-2]\cup\{1\}", r"a \le -2 \text{ or } a = 2", False),
    (r"(-\infty,-2]\cup\{1\}", r"a < -2 \text{ or } a = 1", False),
    (r"(-\infty,-2]\cup\{1\}", r"a \le -2", False),
    (r"\{0\} \cup [3, \infty)", r"x = 0 \text{ or } x \ge 3", True),
    (r"\{0\} \cup [3, \infty)", r"x = 0 \text{ or } x > 3", False),
    (r"[1, 2] \cup \{5\}", r"1 \le x \le 2 \text{ or } x = 5", True),
    (r"[1, 2] \cup \{5\}", r"1 \le x \le 2 \text{ or } x = 4", False),
])


@pytest.mark.parametrize(
    ("gold", "pred", "expected"), PLUS_MINUS_IN_SETS + ALTERNATIVES + ORDER_CHAINS + REGIONS_WITH_POINTS
)
def test_several_answers(gold: str, pred: str, expected: bool) -> None:
    assert_graded(gold, pred, expected)
