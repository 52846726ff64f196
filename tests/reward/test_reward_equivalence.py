"""Equivalence table: (ground truth, prediction, expected) for every answer form the verifier supports.

False positives matter as much as false negatives, so each form has non-equivalent rows too.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepscaler_grpo.reward import VerifierPolicy, check, gold_strings, verify

EQUIVALENCE_TABLE = [
    # integers: separators, trailing .0, leading +, leading zeros, float ground truth
    ("1234", "1,234", True),
    ("1234", "1{,}234", True),
    ("1234", "1\\,234", True),
    ("1234567", "1,234,567", True),
    ("142", "142.0", True),
    ("5", "+5", True),
    ("25", "025", True),
    ("-7", "-7.00", True),
    ("123456789", "123456788", False),
    ("123456789", "123456789.0000001", False),
    ("1234", "1,235", False),
    ("5", "-5", False),
    ("0", "-0", True),
    # decimals and fractions, exactly
    ("0.75", "\\frac{3}{4}", True),
    ("0.75", "3/4", True),
    ("\\frac{3}{4}", "0.750", True),
    ("-\\frac{2}{3}", "-2/3", True),
    ("-\\frac{2}{3}", "\\frac{-2}{3}", True),
    ("-\\frac{2}{3}", "\\frac{2}{-3}", True),
    ("\\frac{2}{3}", "\\dfrac{2}{3}", True),
    ("\\frac{2}{3}", "\\tfrac{2}{3}", True),
    ("\\frac{2}{3}", "\\frac23", True),
    ("\\frac{2}{3}", "\\frac{4}{6}", True),
    ("\\frac{1}{3}", "0.\\overline{3}", True),
    ("\\frac{2}{3}", "-\\frac{2}{3}", False),
    ("\\frac{2}{3}", "\\frac{3}{2}", False),
    ("2\\frac{1}{2}", "\\frac{5}{2}", True),
    ("-15\\frac{3}{5}", "-15.6", True),
    ("0.1", "0.10000001", False),
    # scientific notation
    ("44000000", "4.4 \\times 10^7", True),
    ("4.4e7", "4.4\\times10^{7}", True),
    ("4.4 \\times 10^{7}", "44,000,000", True),
    ("2.26 \\times 10^{-10}", "2.26e-10", True),
    ("2.26 \\times 10^{-10}", "2.27e-10", False),
    ("3.3e12", "3.3\\cdot 10^{12}", True),
    ("3.3e12", "3.3e11", False),
    # percent, degrees, text and units
    ("25\\%", "25", True),
    ("25", "25\\%", True),
    ("8\\%", "0.08", True),
    ("25\\%", "26\\%", False),
    ("76^\\circ", "76", True),
    ("76", "76^{\\circ}", True),
    ("76^\\circ", "77^\\circ", False),
    ("20\\text{ miles}", "20", True),
    ("5", "5 \\text{ cm}", True),
    ("5", "5\\text{ cm}^2", True),
    ("5", "5 inches", True),
    ("5", "6 \\text{ cm}", False),
    ("\\$5", "5", True),
    ("2", "2n", False),
    ("\\text{Friday}", "Friday", True),
    ("\\text{Friday}", "\\text{Monday}", False),
    # assignments
    ("3", "x = 3", True),
    ("3", "x=4", False),
    ("x=3", "3", True),
    ("k=2n-1", "2n-1", True),
    ("2n-1", "2n+1", False),
    # multiple choice
    ("\\text{(C)}", "C", True),
    ("C", "\\text{(C)}", True),
    ("C", "(C)", True),
    ("C", "\\textbf{(C) }12", True),
    ("C", "D", False),
    ("\\text{(C)}", "\\text{(D)}", False),
    # radicals, pi, symbolic expressions, complex numbers
    ("2\\sqrt{2}", "\\sqrt{8}", True),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}", True),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", True),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{2}}{2}", False),
    ("2\\pi", "\\pi \\cdot 2", True),
    ("\\frac{\\pi}{3}", "\\frac{\\pi}{4}", False),
    ("n(n-1)", "n^2-n", True),
    ("n(n-1)", "n^2+n", False),
    ("(x+1)^2", "x^2+2x+1", True),
    ("(x+1)^2", "x^2+x+1", False),
    ("6+9i", "9i+6", True),
    ("6+9i", "6-9i", False),
    ("\\frac{1}{2}+\\frac{\\sqrt{3}}{2}i", "\\frac{1+i\\sqrt{3}}{2}", True),
    # tuples (ordered), sets and lists (unordered), intervals
    ("(1,2)", "(1, 2)", True),
    ("(1,2)", "(2,1)", False),
    ("(15,-29)", "(15, -29)", True),
    ("(15,-29)", "(-29,15)", False),
    ("\\{1,2\\}", "\\{2,1\\}", True),
    ("\\{1,2\\}", "\\{1,3\\}", False),
    ("-2,1", "1,-2", True),
    ("-2,1", "1,2", False),
    ("1,2,10", "10, 2, 1", True),
    ("1,2,10", "1, 2", False),
    ("2, 3, \\text{ and } 4", "4, 3, 2", True),
    ("[1,2)", "[1, 2)", True),
    ("[1,2)", "(1,2)", False),
    ("[1,2)", "[1,2]", False),
    ("(-\\infty, 3]", "(-\\infty,3]", True),
    ("(-\\infty, 3]", "(-\\infty, 3)", False),
    ("(2,12) \\cup (12,102)", "(2, 12)\\cup(12, 102)", True),
    ("(2,12) \\cup (12,102)", "(2,12] \\cup (12,102)", False),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(\\frac{\\pi}{2},3)", False),
    # matrices and equations
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\begin{pmatrix}-1&0\\\\0&-1\\end{pmatrix}", True),
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\begin{pmatrix}-1&0\\\\0&1\\end{pmatrix}", False),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", False),
    ("y=2x+3", "y = 3 + 2x", True),
    ("y=2x+3", "y=2x-3", False),
    ("x^2+y^2=1", "y^2+x^2=1", True),
]


ROUNDED_DECIMALS = [  # the decimal policy at 3 digits: rounded at the decimal's own precision
    ("\\frac{2}{3}", "0.6667", True),  # decimal policy: rounded at its own precision
    ("\\frac{2}{3}", "0.6666", False),
    ("\\frac{1}{3}", "0.333333", True),
    ("\\frac{1}{3}", "0.33", False),  # too few significant digits
    ("\\sqrt{2}", "1.41421356", True),
    ("\\sqrt{2}", "1.41421357", False),
    ("\\pi", "3.14159", True),
    ("\\pi", "3.14158", False),
]


@pytest.mark.parametrize(("gold", "pred", "expected"), EQUIVALENCE_TABLE)
def test_equivalence(gold: str, pred: str, expected: bool) -> None:
    assert verify(pred, gold) is expected, check(pred, gold)


@pytest.mark.parametrize(("gold", "pred", "expected"), ROUNDED_DECIMALS)
def test_rounded_decimals_follow_the_policy(gold: str, pred: str, expected: bool) -> None:
    assert verify(pred, gold, policy=VerifierPolicy(decimal_digits=3)) is expected
    assert verify(pred, gold, policy=VerifierPolicy.strict()) is False


@pytest.mark.parametrize(
    ("ground_truth", "pred", "expected"),
    [
        (142.0, "142", True),
        (142.0, "141", False),
        (142, "142.0", True),
        (0.5, "\\frac{1}{2}", True),
        (np.float64(21.0), "21", True),
        (np.int64(7), "7", True),
        (["\\frac{1}{2}", "0.5"], "1/2", True),
        (("3", "4"), "4", True),
        (np.array(["3.89e-10\n", "3.89e-10"]), "3.89 \\times 10^{-10}", True),
        (np.array(["3.89e-10"]), "3.88e-10", False),
        (["$\\frac{2}{3}$"], "\\frac{2}{3}", True),
        ({"ground_truth": ["5"], "style": "rule"}, "5", True),
        (None, "5", False),
        (float("nan"), "5", False),
        ([], "5", False),
    ],
)
def test_ground_truth_types(ground_truth: object, pred: str, expected: bool) -> None:
    assert verify(pred, ground_truth) is expected


def test_gold_strings_normalises_types() -> None:
    assert gold_strings(142.0) == ["142"]
    assert gold_strings(0.25) == ["0.25"]
    assert gold_strings(np.array(["1\n", "$2$"])) == ["1", "2"]
    assert gold_strings("\\boxed{7}") == ["7"]


def test_fast_path_decides_plain_numbers() -> None:
    assert check("1,234", "1234").method == "fast"
    assert check("\\dfrac{3}{4}", "0.75").method == "fast"
    assert check("n^2-n", "n(n-1)").method == "symbolic"


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("-5", "\u22125", True),
        ("\\sqrt{2}", "\u221a2", True),
        ("2\\pi", "2\u03c0", True),
        ("\\emptyset", "\\varnothing", True),
        ("4", "four", True),
        ("4", "five", False),
        ("x=3", "y=3", False),
        ("[1,2)", "1 \\le x < 2", True),
        ("[1,2)", "1 < x < 2", False),
        ("x = \\frac{e^{t}}{3} + ce^{-2t}", "x = \\frac{e^{t}}{3} + ce^{-3t}", False),
        ("\\frac{1}{b-a}\\left(e^{-at}-e^{-bt}\\right)", "\\frac{e^{-at}-e^{-bt}}{b-a}", True),
    ],
)
def test_more_spellings(gold: str, pred: str, expected: bool) -> None:
    assert verify(pred, gold) is expected, check(pred, gold)
