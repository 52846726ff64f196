"""Answer classes with a stated policy (see ``deepscaler_grpo.reward.fast``), in both directions.

Each class has equivalent rows and near misses, so a policy that gets looser or stricter fails here.
Rows are ``(gold, pred, expected)``.
"""

from __future__ import annotations

import pytest

from deepscaler_grpo.reward import check, extract_answer, verify

from .reward_tables import assert_rounding

PERCENT = [
    ("25\\%", "25\\%", True),
    ("25\\%", "25", True),  # the sign left out
    ("25\\%", "0.25", True),  # the value
    ("25\\%", "\\frac{1}{4}", True),
    ("25\\%", "25 percent", True),
    ("25\\%", "2.5", False),
    ("25\\%", "0.25\\%", False),
    ("\\frac{1}{4}", "25\\%", True),  # same value
    ("\\frac{1}{4}", "25 percent", True),
    ("\\frac{1}{4}", "0.25\\%", False),  # a % on a fraction gold is never a unit
    ("\\frac{1}{10}", "0.1\\%", False),
    ("25", "25\\%", True),  # plain numeral gold: % read as a unit
    ("0.1", "10\\%", True),
    ("25", "0.25", False),
    ("12.5", "12.5\\%", True),
]

DEGREES = [
    ("90^\\circ", "90", True),
    ("90^\\circ", "90^{\\circ}", True),
    ("90^\\circ", "90°", True),
    ("90^\\circ", "90 degrees", True),
    ("90", "90^\\circ", True),
    ("1950^\\circ C", "1950", True),
    ("1950^\\circ C", "1950^{\\circ}\\text{C}", True),
    ("100", "100^\\circ \\mathrm{F}", True),
    ("60^\\circ, 120^\\circ", "120 degrees, 60 degrees", True),
    ("90^\\circ", "\\frac{\\pi}{2}", True),  # an explicit degree sign: the same angle in radians (issue 20)
    ("\\frac{\\pi}{2}", "90^\\circ", True),
    ("\\frac{\\pi}{2}", "90", False),  # a bare number never is an angle in degrees
    ("30^\\circ", "\\frac{\\pi}{6}", True),
    ("30^\\circ", "\\frac{\\pi}{3}", False),
    ("90^\\circ", "91^\\circ", False),
]

RATIOS_AND_TIMES = [
    ("1:2", "1:2", True),
    ("1:2", "1 : 2", True),
    ("1:2", "1\\!:\\!2", True),
    ("1:2", "2:4", True),  # proportional
    ("1:2", "\\frac{1}{2}", True),  # a two-part ratio is its quotient
    ("\\frac{1}{2}", "1:2", True),
    ("2", "2:1", True),
    ("1:2", "2:1", False),
    ("\\frac{1}{2}", "2:1", False),
    ("1:2:3", "2:4:6", True),
    ("1:2:3", "1:2:4", False),
    ("1:2:3", "\\frac{1}{6}", False),  # latex2sympy would read 1/2/3
    ("1:2", "-1:-2", True),
    ("1:2", "-1:2", False),
    ("3:30", "3:30", True),  # a clock time, not the ratio 1:10
    ("3:30", "1:10", False),
    ("3:30", "\\frac{1}{10}", False),
    ("8\\!:\\!34 \\text{ p.m.}", "8:34 PM", True),
    ("8\\!:\\!34 \\text{ p.m.}", "8:34", True),  # a.m./p.m. checked only when both give it
    ("8\\!:\\!34 \\text{ p.m.}", "20:34", True),
    ("8\\!:\\!34 \\text{ p.m.}", "8:34 a.m.", False),
    ("8\\!:\\!34 \\text{ p.m.}", "8:35 p.m.", False),
]

BASES = [
    ("1011_2", "1011_2", True),
    ("1011_2", "1011_{2}", True),
    ("1011_2", "(1011)_2", True),
    ("1011_2", "1011", True),  # the base is in the question
    ("1011_2", "11", False),  # the decimal value is not what was asked
    ("1011_2", "1011_3", False),
    ("52_8", "52_9", False),
    ("A3_{12}", "a3_{12}", True),
    ("2516_8", "2{,}516_8", True),
    ("x_1", "x_{1}", True),  # a subscripted variable, not a base
    ("E_1, E_2", "E_{1},E_{2}", True),
    ("E_1, E_2", "E_2, E_1", True),  # unordered lists of names (latex2sympy cannot parse these)
    ("E_1, E_2", "E_1, E_3", False),
    ("A, C, D", "D, A, C", True),
    ("A, C, D", "A, C", False),
    ("\\text{Monday}, \\text{Friday}", "friday, monday", True),
    ("(a, b)", "(b, a)", False),
]

SPELLINGS = [
    ("051", "\\textbf{(051) }", True),  # AIME answers in parentheses
    ("51", "(51)", True),
    ("51", "(52)", False),
    ("\\mathbf{2340}", "2340", True),
    ("\\frac{448}{15625}", "\\frac{448}{15{,}625}", True),
    ("(2223,4510)", "(2{,}223,4{,}510)", True),
    ("(2223,4510)", "(4510,2223)", False),
    ("0.003^{\\prime \\prime}", "0.003", True),  # arcseconds
    ("x' + \\frac{r}{V}x - rc = 0", "x^{\\prime}+\\frac{r}{V} x-r c=0", True),
    ("\\text{Evelyn}", "EVELYN", True),
    ("\\text{east}", "\\text{East}", True),
    ("\\text{Yes}", "yes", True),
    ("\\text{Yes}", "No", False),
    ("a + b + c", "x = a + b + c", True),
    ("2x+3", "y = 3 + 2x", True),
    ("2x+3", "y = 3 - 2x", False),
    ("\\$1.50", "1.5", True),
    ("\\$1.50", "1.50 dollars", True),
    ("\\$1.50", "\\$1.05", False),
    ("4\\text{ cm}^2", "4 \\text{ cm}^{2}", True),
    ("(2,3)", "a=2, b=3", True),
    ("(2,3)", "a=3, b=2", False),
    ("[-2, 5]", "x \\in [-2,5]", True),
    ("[-2, 5]", "-2 \\le x \\le 5", True),
    ("[-2, 5]", "(-2,5)", False),
    ("\\pm 2", "2, -2", True),
    ("\\pm 2", "2", False),  # a root missing
    ("1 \\pm \\sqrt{2}", "1+\\sqrt{2}, 1-\\sqrt{2}", True),
    ("1 \\pm \\sqrt{2}", "1+\\sqrt{2}", False),
    ("\\infty", "+\\infty", True),
    ("\\infty", "-\\infty", False),
    ("\\emptyset", "\\varnothing", True),
    ("\\emptyset", "0", False),
]

IRRATIONAL_APPROXIMATIONS = [  # decimal policy at 3 digits: rounded at the answer's precision
    ("\\frac{\\sqrt{3}}{2}", "\\sqrt{3}/2", True),
    ("\\frac{\\sqrt{3}}{2}", "0.866", True),
    ("\\frac{\\sqrt{3}}{2}", "0.87", False),  # 2 significant digits
    ("\\frac{\\sqrt{3}}{2}", "0.867", False),  # mis-rounded
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1.732}{2}", False),  # not a plain decimal
    ("5\\sqrt{2}", "\\sqrt{50}", True),
    ("5\\sqrt{2}", "7.0710678", True),
    ("5\\sqrt{2}", "7.0710679", False),
    ("\\sqrt{2}", "\\sqrt{3}", False),
    ("2\\pi", "6.28", True),
    ("2\\pi", "6.27", False),
    ("2\\pi", "6", False),  # integers are exact
]

SYMBOLIC = [  # identical parses whose symbols latex2sympy typed differently; unreliable parses
    ("\\frac{e^{2it}}{2+2i} + Ce^{-2t}", "\\frac{e^{2 i t}}{(2+2 i)}+C e^{-2 t}", True),
    ("\\frac{e^{2it}}{2+2i} + Ce^{-2t}", "\\frac{e^{2 i t}}{(2+2 i)}-C e^{-2 t}", False),
    ("m_{p} c^{2}(\\gamma^{2}-1) \\sin ^{2} \\theta", "m_{p} c^{2}(\\gamma^{2}-2) \\sin ^{2} \\theta", False),
    ("m_{p} c^{2}(\\gamma^{2}-1) \\sin ^{2} \\theta", "m_{p}c^{2}(\\gamma^{2}-1)\\sin^{2}\\theta", True),
]


@pytest.mark.parametrize(("gold", "pred", "expected"), PERCENT + DEGREES + RATIOS_AND_TIMES + BASES + SPELLINGS + SYMBOLIC)
def test_policy(gold: str, pred: str, expected: bool) -> None:
    assert verify(pred, gold) is expected, check(pred, gold)


@pytest.mark.parametrize(("gold", "pred", "expected"), IRRATIONAL_APPROXIMATIONS)
def test_irrational_approximations(gold: str, pred: str, expected: bool) -> None:
    assert_rounding(gold, pred, expected, digits=3, exact="." not in pred)  # decimals need the policy


def test_unequal_expressions_over_different_symbols_are_disproved_without_timeout() -> None:
    verdict = check(
        "\\omega_{n}^{2} e^{-\\zeta \\omega_{n} t} \\cos \\left(\\omega_{n} \\sqrt{1-\\zeta^{2}} t\\right)",
        "\\frac{1}{b-a}\\left(e^{-at}-e^{-bt}\\right)",
        timeout_s=5.0,
    )
    assert verdict.correct is False and verdict.method == "symbolic"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>The roots are $x=1$ and $x=2$.</answer>", "x=1, x=2"),
        ("<answer>The solutions are $1$, $2$, and $3$</answer>", "1, 2, 3"),
        ("<answer>$x=3$, so the answer is $5$</answer>", "5"),
        ("<answer>Since $a=2$ we get $b=5$</answer>", "b=5"),
    ],
)
def test_several_math_pieces_in_the_tag(text: str, expected: str) -> None:
    assert extract_answer(text) == expected


def test_listed_roots_in_words_match_an_unordered_gold() -> None:
    pred = extract_answer("<answer>The roots are $x=2$ and $x=-1$.</answer>")
    assert verify(pred, "-1, 2") is True
    assert verify(pred, "-1, 3") is False


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [("0.56 = 56\\%", "0.56 = 56\\%", True), ("0.56 = 56\\%", "0.57 = 56\\%", False), ("0.56 = 56\\%", "56\\%", True)],
)
def test_numeric_equations_compare_both_sides(gold: str, pred: str, expected: bool) -> None:
    assert verify(pred, gold) is expected


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{2} \\approx 0.866", True),  # the exact side is the answer
        ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{2} = 0.866", True),
        ("\\frac{\\sqrt{3}}{2}", "0.866 \\approx \\frac{\\sqrt{3}}{2}", True),
        ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{2}}{2} \\approx 0.866", False),
        ("\\frac{\\sqrt{2}}{2}", "\\frac{\\sqrt{3}}{2} = 0.707", False),
        ("0.866", "\\frac{\\sqrt{3}}{2} \\approx 0.866", True),  # a decimal gold: the decimal side
        ("0.866", "\\frac{\\sqrt{3}}{2} \\approx 0.867", False),
        ("\\frac{1}{4}", "\\frac{1}{4} = 0.25", True),
    ],
)
def test_exact_value_with_its_approximation(gold: str, pred: str, expected: bool) -> None:
    assert verify(pred, gold) is expected, check(pred, gold)
