"""Issue 20, class 5: logarithms and general solutions. Rows are ``(gold, pred, expected)``.

``\\log`` without a base is the natural logarithm when the other side writes ``\\ln`` (an explicit base is kept).
General solutions are families ``a + kT`` compared as sets of angles: parameters renamed, families split or
merged (``\\frac{\\pi}{4}+k\\pi`` = ``\\frac{\\pi}{4}+2k\\pi`` or ``\\frac{5\\pi}{4}+2k\\pi``), ``\\pm``, degrees.
Near misses: another offset, another period, a missing family.
"""

from __future__ import annotations

import pytest

from .reward_tables import assert_graded, both_ways

LOGARITHMS = both_ways([
    (r"\ln 2", r"\log 2", True),
    (r"\ln 2", r"\log 3", False),
    (r"\ln(x+1)", r"\log(x+1)", True),
    (r"\ln(x+1)", r"\log(x-1)", False),
    (r"2\ln 3", r"\log 9", True),
    (r"2\ln 3", r"\log 6", False),
    (r"\frac{\ln 3}{\ln 2}", r"\log_2 3", True),
    (r"\frac{\ln 3}{\ln 2}", r"\log_3 2", False),
    (r"\log_{10} 2", r"\ln 2", False),  # an explicit base stays that base
    (r"\log_2 8", "3", True),
    (r"\log_{10} 100", "2", True),
    (r"\ln \frac{1}{2}", r"-\log 2", True),
    (r"\ln \frac{1}{2}", r"\log 2", False),
])

GENERAL_SOLUTIONS = both_ways([
    (r"x=\frac{\pi}{4}+k\pi", r"x = \frac{5\pi}{4} + 2m\pi \text{ or } x = \frac{\pi}{4} + 2m\pi", True),
    (r"x=\frac{\pi}{4}+k\pi", r"x = \frac{\pi}{4} + 2m\pi", False),
    (r"\frac{\pi}{4}+k\pi", r"-\frac{3\pi}{4} + n\pi", True),
    (r"\frac{\pi}{4}+k\pi", r"\frac{3\pi}{4}+k\pi", False),
    (r"\frac{\pi}{4}+k\pi", r"\frac{\pi}{4}+2k\pi", False),
    (r"\pm\frac{\pi}{3}+2k\pi", r"\frac{\pi}{3}+2k\pi, \frac{5\pi}{3}+2k\pi", True),
    (r"\pm\frac{\pi}{3}+2k\pi", r"\frac{\pi}{3}+2k\pi", False),
    (r"x = \frac{k\pi}{2}", r"x = k\pi \text{ or } x = \frac{\pi}{2} + k\pi", True),
    (r"x = \frac{k\pi}{2}", r"x = k\pi", False),
    (r"2k\pi", r"2n\pi, n \in \mathbb{Z}", True),
    (r"k\pi", r"n\pi \quad (n \in \mathbb{Z})", True),
    (r"k\pi", r"2n\pi \quad (n \in \mathbb{Z})", False),
    (r"\frac{\pi}{6}+\frac{2k\pi}{3}", r"\frac{\pi}{6}+\frac{2\pi k}{3}", True),
    (r"\frac{\pi}{6}+\frac{2k\pi}{3}", r"\frac{\pi}{6}+\frac{k\pi}{3}", False),
    (r"\frac{\pi}{2} + k\pi", r"\frac{\pi}{2} + \pi k, \; k \in \mathbb{Z}", True),
    (r"\frac{\pi}{2} + k\pi", r"-\frac{\pi}{2} + 2k\pi", False),
    (r"x = 30^\circ + k \cdot 180^\circ", r"x = 210^\circ + 180^\circ n", True),
    (r"x = 30^\circ + k \cdot 180^\circ", r"x = 30^\circ + 360^\circ n", False),
])


@pytest.mark.parametrize(("gold", "pred", "expected"), LOGARITHMS + GENERAL_SOLUTIONS)
def test_logs_and_general_solutions(gold: str, pred: str, expected: bool) -> None:
    assert_graded(gold, pred, expected)
