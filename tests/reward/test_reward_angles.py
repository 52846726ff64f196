"""Issue 20, class 6: angles, and the decimal policy's edges. Rows are ``(gold, pred, expected)``.

Degrees and minutes (``60^\\circ 42'`` = ``60.7^\\circ``; ``30'`` is half a degree, not 0.3), ``^\\textcirc``,
an explicit degree value against the same angle as a multiple of pi (a bare number never is). The decimal
policy applies the same way to scientific notation and inside mixed lists: those rows hold at 4 digits and
are all wrong under the strict policy.
"""

from __future__ import annotations

import pytest

from .reward_tables import assert_graded, assert_rounding, both_ways

DEGREES_MINUTES = both_ways([
    (r"60^\circ 42'", r"60.7^\circ", True),
    (r"60^\circ 42'", r"60^\circ 43'", False),
    (r"60^\circ 42'", "60.7", True),
    (r"60^\circ 42'", "60.42", False),
    (r"30^\circ 30'", r"30.5^\circ", True),
    (r"30^\circ 30'", r"30.3^\circ", False),  # 30 minutes is half a degree
    (r"10^\circ 15' 36''", r"10.26^\circ", True),
    (r"10^\circ 15' 36''", r"10.25^\circ", False),
    (r"60^{\circ} 42^{\prime}", r"60^\circ42'", True),
    (r"45^\circ 0'", r"45^\circ", True),
])

TEXTCIRC = both_ways([
    (r"30^\textcirc", "30", True),
    (r"30^\textcirc", r"30^\circ", True),
    (r"30^\textcirc", "31", False),
    (r"45^{\textcirc}", r"45^\circ", True),
    (r"45^{\textcirc}", r"54^\circ", False),
])

DEGREES_AS_RADIANS = both_ways([
    (r"120^\circ", r"\frac{2\pi}{3}", True),
    (r"\frac{2\pi}{3}", r"60^\circ", False),
    (r"90^\circ", r"\frac{\pi}{2}", True),
    (r"\frac{\pi}{2}", "90", False),  # a bare number is not an angle in degrees
    (r"\pi", r"180^\circ", True),
    (r"45^\circ", r"\frac{\pi}{4}", True),
    (r"45^\circ", r"\frac{\pi}{3}", False),
    (r"135^{\circ}", r"\frac{3}{4}\pi", True),
    (r"135^{\circ}", r"\frac{3}{5}\pi", False),
    (r"\theta = 30^\circ", r"\theta = \frac{\pi}{6}", True),
])

DECIMAL_EDGES = both_ways([  # at 4 significant digits
    (r"\frac{1}{432}", r"2.3148\times10^{-3}", True),
    (r"\frac{1}{432}", r"2.3149\times10^{-3}", False),
    (r"\frac{1}{432}", r"2.31\times10^{-3}", False),  # 3 digits
    (r"\frac{1}{432}", "2.3148e-3", True),
    (r"\frac{1}{7}", r"1.4286 \cdot 10^{-1}", True),
    (r"\frac{1}{7}", r"1.4285 \cdot 10^{-1}", False),
    (r"\frac13, \sqrt3, \pi", "1/3, 1.732, 3.1416", True),
    (r"\frac13, \sqrt3, \pi", "1/3, 1.733, 3.1416", False),
    (r"\frac13, \sqrt3, \pi", "1.732, 1/3, 3.1416", True),  # a list in any order
    (r"(\frac13, \sqrt3)", "(1.732, 0.3333)", False),  # a tuple in order
    (r"(\frac13, \sqrt3)", "(0.3333, 1.732)", True),
    (r"\sqrt{2}, 2\sqrt{2}", "1.414, 2.828", True),
    (r"\sqrt{2}, 2\sqrt{2}", "1.414, 2.829", False),
])


@pytest.mark.parametrize(("gold", "pred", "expected"), DEGREES_MINUTES + TEXTCIRC + DEGREES_AS_RADIANS)
def test_angles(gold: str, pred: str, expected: bool) -> None:
    assert_graded(gold, pred, expected)


@pytest.mark.parametrize(("gold", "pred", "expected"), DECIMAL_EDGES)
def test_decimal_edges_follow_the_policy(gold: str, pred: str, expected: bool) -> None:
    assert_rounding(gold, pred, expected, digits=4)
