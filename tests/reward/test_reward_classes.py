"""Answer classes from issue 12, one table each: equivalent spellings and near misses that must stay wrong.

Rows are ``(gold, pred, expected)``. ``both_ways`` rows are checked in both directions (the
relation is symmetric for them); one-way rows state a direction on purpose (a label order set by
the gold, the decimal policy). Cases are written here per class, not copied from other projects.
"""

from __future__ import annotations

import pytest

from deepscaler_grpo.reward import check, compute_score, verify

from .reward_tables import assert_rounding, both_ways

LABELLED_LISTS = both_ways([  # false positive: every labelled item counts, not the first
    ("40, 60", "40 \\text{ apples}, 60 \\text{ pears}", True),
    ("40, 60", "40 \\text{ apples}, 70 \\text{ pears}", False),
    ("40 \\text{ apples}, 60 \\text{ pears}", "40 \\text{ apples}, 70 \\text{ pears}", False),
    ("40 \\text{ apples}, 60 \\text{ pears}", "40 apples, 70 pears", False),
    ("40 \\text{ apples}, 60 \\text{ pears}", "60 \\text{ pears}, 40 \\text{ apples}", True),
    ("40 \\text{ apples}, 60 \\text{ pears}", "60 \\text{ apples}, 40 \\text{ pears}", False),
    ("40 \\text{ apples}, 60 \\text{ pears}", "40", False),
    ("3 \\text{ red}, 5 \\text{ blue}, 2 \\text{ green}", "3 red, 5 blue, 2 green", True),
    ("3 \\text{ red}, 5 \\text{ blue}, 2 \\text{ green}", "3 red, 5 blue", False),
    ("12 \\text{ boys and } 15 \\text{ girls}", "12 boys, 15 girls", True),
    ("12 \\text{ boys and } 15 \\text{ girls}", "15 boys, 12 girls", False),
])

VARIABLES_ARE_NOT_UNITS = both_ways([  # false positive: m is a variable unless written as a unit after a number
    ("6m", "6", False),
    ("3m+1", "3", False),
    ("3m+1", "3m + 1", True),
    ("3m+1", "1+3m", True),
    ("6m", "6n", False),
    ("2s", "2", False),
    ("4h", "4", False),
    ("6 \\text{ m}", "6", True),
    ("6 \\text{ m}", "6\\,\\text{m}", True),
    ("6 \\mathrm{~m}", "6m", True),  # the other side agrees that m is a unit
    ("6 \\mathrm{~m}", "7m", False),
    ("6 \\text{ m}^2", "6m^2", True),
    ("6 \\text{ m}", "6n", False),
    ("m^2 - 1", "(m-1)(m+1)", True),
    ("m^2 - 1", "m^2", False),
    ("\\frac{1}{2}", "\\frac{1}{2}ab", False),  # letters glued to a number are variables, not a label
    ("3", "3xy", False),
    ("3", "3 xy", False),
    ("3", "x \\text{ apples}", False),
    ("5", "5mi", False),
    ("2", "2 \\text{ab}", True),  # a word in \\text{} after a number is a label
])

REGIONS = both_ways([
    ("(1, 3)", "\\{x \\mid 1 < x < 3\\}", True),
    ("(1, 3)", "\\{x : 1 < x < 3\\}", True),
    ("(1, 3)", "\\left\\{ x \\in \\mathbb{R} \\mid 1 < x < 3 \\right\\}", True),
    ("(1, 3)", "\\{x \\mid 1 \\le x < 3\\}", False),
    ("(1, 3)", "\\{x : 1 < x < 4\\}", False),
    ("[-2, \\frac{1}{2})", "\\{ t : -2 \\le t < \\frac12 \\}", True),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x < 1 \\text{ or } x > 2", True),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x < 1 \\lor x > 2", True),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x < 1 \u2228 x > 2", True),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x \u2208 (-\u221e, 1) \u222a (2, \u221e)", True),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x \u2208 (-\u221e, 1] \u222a (2, \u221e)", False),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x<1 \\text{ or } x>2", True),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x > 2 \\cup x < 1", True),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x \\le 1 \\text{ or } x > 2", False),
    ("(-\\infty, 1) \\cup (2, \\infty)", "x < 1", False),
    ("(-\\infty, -3] \\cup [3, \\infty)", "x \\le -3 \\text{ or } x \\ge 3", True),
    ("(-\\infty, -3] \\cup [3, \\infty)", "x \\le -3 \\text{ or } x \\ge 2", False),
    ("[0.5, 2.5)", "x \\in [\\frac12, \\frac52)", True),
    ("[0.5, 2.5)", "\\frac{1}{2} \\le x < \\frac{5}{2}", True),
    ("[0.5, 2.5)", "x \\in (\\frac12, \\frac52)", False),
    ("[0.5, 2.5)", "x \\in [0.5, 2.6)", False),
    ("(\\sqrt{2}, \\infty)", "x > \\sqrt{2}", True),
    ("(\\sqrt{2}, \\infty)", "x \\ge \\sqrt{2}", False),
    ("(-\\infty, 4]", "4 \\ge y", True),
    ("(-\\infty, 4]", "4 > y", False),
    ("(-\\infty, -1) \\cup (3, \\infty)", "x \\in (-\\infty, -1) \\cup (3, \\infty)", True),
    ("(-\\infty, -1) \\cup (3, \\infty)", "x \\in (-\\infty, -1] \\cup (3, \\infty)", False),
    ("(-\\infty, \\infty)", "\\mathbb{R}", True),
    ("(-\\infty, \\infty)", "x \\in \\mathbb{R}", True),
    ("(-\\infty, \\infty)", "(0, \\infty)", False),
    ("(1, 3]", "x > 1 \\text{ and } x \\le 3", True),  # a lower and an upper bound joined by "and"
    ("(1, 3]", "x \\le 3 \\land x > 1", True),
    ("(1, 3]", "x > 1 \\text{ and } x < 3", False),
    ("(1, 3]", "x > 1 \\text{ and } x > 3", False),
    ("t(0, 4]", "(0, 4]", True),  # a gold whose "t \\in" lost its \\in
    ("t(0, 4]", "0 < t \\le 4", True),
    ("t(0, 4]", "(0, 4)", False),
    ("f(0, 4)", "(0, 4)", False),  # round brackets after a letter: a function call
])

DOLLAR_SEPARATED_GOLDS = [  # olympiad golds: items in separate $..$ pieces
    (["$69$,$84$"], "84, 69", True),
    (["$69$,$84$"], "69", False),
    (["$69$, $84$"], "69, 84", True),
    (["$\\frac{32}{9}$,$\\frac{1}{2}$"], "\\frac{1}{2}, \\frac{32}{9}", True),
    (["$\\frac{32}{9}$,$\\frac{1}{2}$"], "\\frac{1}{2}, \\frac{32}{7}", False),
    (["$-1$,$2$,$-2$"], "2, -2, -1", True),
    (["$-1$,$2$,$-2$"], "2, -2, 1", False),
    (["$90^{\\circ}$,$60^{\\circ}$"], "60^\\circ, 90^\\circ", True),
    (["$a=2$, $a=-6-4 \\sqrt{2}$"], "-6-4\\sqrt{2}, 2", True),
    (["$a=2$, $a=-6-4 \\sqrt{2}$"], "-6+4\\sqrt{2}, 2", False),
    (["$f(x)=a x+b$, where $b$ is an integer"], "f(x) = ax + b", True),
    ("$69$,$84$", "84, 69", True),  # a plain string gold too
    ("$69$,$84$", "84", False),
    (["$f(n)=2n$, $g(n)=1$"], "f(x)=2x, g(x)=1", True),
    (["$f(n)=2n$, $g(n)=1$"], "f(x)=2x, g(x)=2", False),
]

FUNCTIONS_AND_LABELS = both_ways([
    ("f(x) = x^2", "f(t) = t^2", True),
    ("f(x) = x^2", "f(t) = x^2", False),
    ("f(x) = x^2", "f(t) = t^3", False),
    ("g(n) = 2n", "g(k) = 2k", True),
    ("g(n) = 2n", "g(k) = 2k + 1", False),
    ("f(x) = x, g(x) = 1", "f(t) = t, g(t) = 1", True),
    ("T(3) = 5, T(4) = 7", "T(4) = 7, T(3) = 5", True),
    ("T(3) = 5, T(4) = 7", "T(3) = 7, T(4) = 5", False),
    ("2", "a_{\\min} = 2", True),
    ("2", "a_{\\min} = 3", False),
    ("\\frac{1}{2}", "P_{\\max} = 1/2", True),
    ("\\frac{1}{2}", "P_{\\max} = 1/3", False),
    ("x = 3", "y = 3", False),
    ("Alice: 7, Bob: 9", "Bob: 9, Alice: 7", True),
    ("Alice: 7, Bob: 9", "Alice: 9, Bob: 7", False),
    ("Alice: 7, Bob: 9", "Alice: 7, Carol: 9", False),
    ("\\text{Minimum: } 0, \\text{Maximum: } 4", "\\text{Max } = 4, \\text{Min } = 0", True),  # abbreviated labels
    ("\\text{Minimum: } 0, \\text{Maximum: } 4", "\\text{Min } = 4, \\text{Max } = 0", False),
    ("(1, 2), (2, 1)", "(x, y) = (1, 2) \\text{ or } (2, 1)", True),
    ("(1, 2), (2, 1)", "(x, y) = (1, 2)", False),
    ("(1, 2), (2, 1)", "(x, y) = (1, 2) \\text{ or } (1, 2)", False),
    ("1, 2", "x = 1 \\text{ or } x = 2", True),
    ("1, 2", "x = 1 \\text{ or } x = 3", False),
    ("x = 2, y = 3", "y = 3, x = 2", True),
    ("x = 2, y = 3", "(2, 3)", True),
    ("x = 2, y = 3", "(3, 2)", False),
    ("f(x) = x^2", "y = x^2", True),
    ("f(x) = x^2", "y = x^3", False),
    ("30^\\circ", "\\angle ABC = 30^\\circ", True),  # left sides that name a quantity
    ("30^\\circ", "\\angle ABC = 40^\\circ", False),
    ("5", "\\overline{AB} = 5", True),
    ("5", "|AB| = 5", True),
    ("5", "|AB| = 6", False),
    ("\\frac{3}{5}", "\\sin A = \\frac35", True),
    ("\\frac{3}{5}", "\\cos\\theta = \\frac{4}{5}", False),
    ("3", "E[X] = 3", True),
    ("3", "E[X] = 4", False),
    ("x + y = 5", "y = 5 - x", True),  # an equation is not a label
    ("x + y = 5", "y = 5 + x", False),
])

LABELS_AGAINST_BARE_VALUES = [  # one way: a labelled gold fixes the order, a bare gold is a list
    ("T(3) = 5, T(4) = 7", "5, 7", True),
    ("T(3) = 5, T(4) = 7", "7, 5", False),
    ("\\text{Minimum: } 1, \\text{Maximum: } 3", "1, 3", True),
    ("\\text{Minimum: } 1, \\text{Maximum: } 3", "3, 1", False),
    ("\\text{Minimum: } 1, \\text{Maximum: } 3", "\\text{Maximum: } 3, \\text{Minimum: } 1", True),
    ("Alice: 7, Bob: 9", "7, 9", True),
    ("Alice: 7, Bob: 9", "9, 7", False),
    ("7, 9", "Alice: 7, Bob: 9", True),
    ("7, 9", "Bob: 9, Alice: 7", True),
    ("7, 9", "Alice: 7, Bob: 8", False),
    ("1, 3", "\\text{Minimum: } 1, \\text{Maximum: } 3", True),
    ("1, 3", "\\text{Minimum: } 1, \\text{Maximum: } 4", False),
    ("x_1 = 2, x_2 = 3", "3, 2", True),  # indexed names are roots: no order
    ("x_1 = 2, x_2 = 3", "3, 3", False),
    ("\\text{width } 5, \\text{length } 8", "5, 8", True),
    ("\\text{width } 5, \\text{length } 8", "8, 5", False),
    ("\\text{width } 5, \\text{length } 8", "\\text{length } 8, \\text{width } 5", True),
    ("5, 3", "\\text{length} = 5 \\text{ cm}, \\text{width} = 3 \\text{ cm}", True),  # label and unit
    ("5, 3", "\\text{length} = 5 \\text{ cm}, \\text{width} = 4 \\text{ cm}", False),
    ("5, 3", "\\text{length} = 3 \\text{ cm}, \\text{width} = 5 \\text{ cm}", True),  # a bare gold is a list
]

SPELLINGS = both_ways([
    ("12", "12^{\\text{th}}", True),
    ("12", "12^{\\mathrm{th}}", True),
    ("12", "12th", True),
    ("12", "twelfth", True),
    ("12", "13^{\\text{th}}", False),
    ("12", "eleventh", False),
    ("3", "3^{\\text{rd}}", True),
    ("22", "22^{\\rm nd}", True),
    ("22", "23^{\\rm rd}", False),
    ("\\frac{1}{2}", "\\frac12", True),
    ("\\frac{1}{2}", "\\frac21", False),
    ("\\frac{a}{b}", "\\frac{a}b", True),
    ("\\frac{a}{b}", "\\frac{b}a", False),
    ("\\frac{a}{2}", "\\frac a2", True),
    ("\\frac{a}{2}", "\\frac a3", False),
    ("\\frac{\\pi}{2}", "\\frac\\pi2", True),
    ("\\cot(t)", "\\cot t", True),
    ("\\cot(t)", "\\tan t", False),
    ("\\sin(2x)", "\\sin 2x", True),
    ("2\\sin x \\cos x", "\\sin 2x", True),
    ("\\sin(2x)", "\\sin x", False),
    ("\\sin^2(x)", "\\sin^2 x", True),
    ("1, 2, \\ldots, n", "1, 2, \\cdots, n", True),
    ("1, 2, \\ldots, n", "1,2,\\dots,n", True),
    ("1, 2, \\ldots, n", "1, 2, ..., n", True),
    ("1, 2, \\ldots, n", "1, 2, \\ldots, n-1", False),
    ("(\\pm 1, 2)", "(1, 2), (-1, 2)", True),
    ("(\\pm 1, 2)", "(1, 2)", False),
    ("(\\pm 1, 2)", "(1, 2), (1, -2)", False),
    ("\\pm 1, \\pm 2", "1, -1, 2, -2", True),
    ("\\pm 1, \\pm 2", "1, 2", False),
    ("\\frac{1 \\pm \\sqrt{5}}{2}", "\\frac{1+\\sqrt5}{2}, \\frac{1-\\sqrt5}{2}", True),
    ("\\frac{1 \\pm \\sqrt{5}}{2}", "\\frac{1+\\sqrt5}{2}", False),
    ("\\emptyset", "\\text{no solution}", True),
    ("\\emptyset", "\\text{none}", True),
    ("\\emptyset", "\\text{no solution}, 0", False),
])

VECTORS_COMPLEX_TRIG = both_ways([  # a one-column or one-row matrix is the tuple of its entries
    ("(1, 2)", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", True),
    ("(1, 2, -3)", "\\begin{bmatrix} 1 \\\\ 2 \\\\ -3 \\end{bmatrix}", True),
    ("(1, 2)", "\\begin{pmatrix} 1 & 2 \\end{pmatrix}", True),
    ("(1, 2)", "\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", False),
    ("(1, 2)", "\\begin{pmatrix} 1 & 0 \\\\ 0 & 2 \\end{pmatrix}", False),
    ("(\\frac{1}{2}, \\sqrt{3})", "\\begin{pmatrix} \\frac12 \\\\ \\sqrt3 \\end{pmatrix}", True),
    ("(1, 2, 3)", "\\langle 1, 2, 3 \\rangle", True),
    ("(1, 2, 3)", "\\langle 1, 3, 2 \\rangle", False),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\left(\\begin{array}{c} 1 \\\\ 2 \\end{array}\\right)", True),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\left(\\begin{array}{c} 2 \\\\ 1 \\end{array}\\right)", False),
    ("1 + 2i", "i(2 - i)", True),
    ("1 + 2i", "i(2 + i)", False),
    ("-1", "i^2", True),
    ("1", "i^2", False),
    ("-i", "i^3", True),
    ("\\cos x", "\\sin(90^\\circ - x)", True),
    ("\\cos x", "\\sin(90 - x)", False),
    ("\\cos x", "\\sin(90° - x)", True),
    ("\\sin x", "\\cos(90^{\\circ} - x)", True),
    ("\\frac{1}{2}", "\\sin 30^\\circ", True),
    ("\\frac{1}{2}", "\\cos 30^\\circ", False),
])

MIXED_NUMBERS_UNITS_TIMES = both_ways([
    ("\\frac{3}{2}", "1 \\frac12", True),
    ("\\frac{3}{2}", "1 1/2", True),
    ("\\frac{3}{2}", "1\\ \\frac{1}{2}", True),
    ("\\frac{7}{3}", "2\\tfrac{1}{3}", True),
    ("\\frac{7}{3}", "2 \\frac{1}{4}", False),
    ("\\frac{1}{2}", "1 \\frac12", False),
    ("10", "10weeks", True),
    ("10", "10 weeks", True),
    ("10", "11weeks", False),
    ("5", "5cm^2", True),
    ("5", "5km", True),
    ("5", "6cm^2", False),
    ("30", "30\\textcirc", True),
    ("30", "30^{\\circ}\\mathrm{C}", True),
    ("30", "31^{\\circ}\\mathrm{C}", False),
    ("2500", "2.5 \\times 10^{3} \\, \\text{m s}^{-1}", True),  # physics units in \\text{} / \\mathrm{}
    ("2500", "2.5 \\times 10^{3} \\mathrm{~m/s}", True),
    ("9.8", "9.8 \\mathrm{m\\,s^{-2}}", True),
    ("9.8", "9.7 \\mathrm{m\\,s^{-2}}", False),
    ("300", "300 \\mathrm{~K}", True),
    ("2x", "2x \\text{ m}", False),  # a unit only after a number: after a variable it stays
    ("15 \\text{ cm}^2", "15 \\text{ cm}^3", False),  # units are stripped, but their powers must agree
    ("15 \\text{ cm}^2", "15 \\text{ cm}", False),
    ("15 \\text{ cm}^2", "15", True),
    ("15 \\text{ square feet}", "15 \\text{ ft}^2", True),
    ("20:34", "20:34:00", True),
    ("8:34 \\text{ p.m.}", "20:34:00", True),
    ("20:34", "20:34:30", False),
    ("20:34", "20:35:00", False),
])

POSITIVE_SYMBOLS = both_ways([  # policy: free symbols are positive reals (lengths, speeds, radii)
    ("a", "\\sqrt{a^2}", True),
    ("r", "(r^3)^{1/3}", True),
    ("\\sqrt{\\frac{2gh}{3}}", "\\frac{\\sqrt{2gh}}{\\sqrt3}", True),
    ("\\sqrt{ab}", "\\sqrt{a}\\sqrt{b}", True),
    ("v^{3/2}", "v\\sqrt{v}", True),
    ("a", "\\sqrt{a^3}", False),
    ("\\sqrt{\\frac{2gh}{3}}", "\\frac{\\sqrt{2gh}}{3}", False),
    ("2r", "\\sqrt{2r^2}", False),
    ("|x|", "x", False),  # only with a radical, never with an absolute value
    ("\\sqrt{x^2}", "|x|", True),
    ("x - 1", "1 - x", False),
])

RENAMED_PARAMETERS = both_ways([
    ("\\frac{\\pi}{6} + k\\pi", "\\frac{\\pi}{6} + n\\pi", True),
    ("\\frac{\\pi}{6} + k\\pi", "\\frac{\\pi}{6} + 2n\\pi", False),
    ("\\frac{\\pi}{6} + k\\pi", "\\frac{\\pi}{3} + n\\pi", False),
    ("2k\\pi", "2m\\pi", True),
    ("x^2 + C", "x^2 + c", True),
    ("x^2 + C", "x^3 + c", False),
    ("e^{x} + C", "e^{x} + K", True),
    ("n^2", "k^2", False),  # no pi: a variable of the question, not a parameter
    ("\\frac{\\pi}{6} + k\\pi", "\\frac{\\pi}{6} + n\\pi, n \\in \\mathbb{Z}", True),
    ("\\frac{\\pi}{6} + k\\pi", "\\frac{\\pi}{6} + 2n\\pi, n \\in \\mathbb{Z}", False),
    ("\\frac{\\pi}{6} + k\\pi", "\\frac{\\pi}{6} + n\\pi \\text{ for any integer } n", True),
])


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    LABELLED_LISTS + VARIABLES_ARE_NOT_UNITS + REGIONS + FUNCTIONS_AND_LABELS + LABELS_AGAINST_BARE_VALUES
    + SPELLINGS + VECTORS_COMPLEX_TRIG + MIXED_NUMBERS_UNITS_TIMES + POSITIVE_SYMBOLS + RENAMED_PARAMETERS,
)
def test_class(gold: str, pred: str, expected: bool) -> None:
    assert verify(pred, gold) is expected, check(pred, gold)


@pytest.mark.parametrize(("gold", "pred", "expected"), DOLLAR_SEPARATED_GOLDS)
def test_dollar_separated_golds(gold: list[str] | str, pred: str, expected: bool) -> None:
    assert verify(pred, gold) is expected, check(pred, gold)


DECIMALS = [  # decimal policy at 3 significant digits (``decimals`` module doc)
    ("\\frac{600}{7}", "85.71", True),  # exact gold, decimal answer at its own precision
    ("\\frac{600}{7}", "85.714", True),
    ("\\frac{600}{7}", "85.72", False),  # mis-rounded
    ("\\frac{600}{7}", "85.7", True),
    ("\\frac{600}{7}", "86", False),  # an integer is exact
    ("\\frac{600}{7}", "85.70", False),
    ("\\frac{2}{3}", "0.667", True),
    ("\\frac{2}{3}", "0.666", False),  # truncated, not rounded
    ("\\frac{2}{3}", "0.67", False),  # 2 significant digits: too few
    ("\\sqrt{2}", "1.414", True),
    ("\\sqrt{2}", "1.41", True),
    ("\\sqrt{2}", "1.415", False),
    ("\\sqrt{2}", "1.4", False),
    ("\\frac{\\sqrt{3}}{2}", "0.866", True),
    ("\\frac{\\sqrt{3}}{2}", "0.8660", True),
    ("\\frac{\\sqrt{3}}{2}", "0.865", False),
    ("\\pi", "3.1416", True),
    ("\\pi", "3.1415", False),
    ("0.667", "\\frac{2}{3}", True),  # decimal gold, exact answer rounded to the gold's precision
    ("0.667", "\\frac{3}{4}", False),
    ("1.41", "\\sqrt{2}", True),
    ("1.41", "\\sqrt{3}", False),
    ("85.71", "\\frac{600}{7}", True),
    ("\\frac{1}{3}", "33.3\\%", True),  # a percent decimal is rounded in percent
    ("\\frac{1}{3}", "33.4\\%", False),
    ("\\frac{1}{3}", "33\\%", False),  # an integer percent is exact
    ("33.3\\%", "\\frac{1}{3}", True),
    ("\\frac{1}{3}, \\frac{2}{3}", "0.667, 0.333", True),  # inside lists and tuples too
    ("\\frac{1}{3}, \\frac{2}{3}", "0.333, 0.666", False),
    ("(\\frac{1}{3}, 2)", "(0.333, 2)", True),
    ("(\\frac{1}{3}, 2)", "(2, 0.333)", False),
    ("\\sqrt{2}, -\\sqrt{2}", "-1.414, 1.414", True),  # irrational items: in the worker
    ("\\sqrt{2}, -\\sqrt{2}", "1.414, -1.415", False),
    ("(\\sqrt{2}, 1)", "(1.414, 1)", True),
    ("(\\sqrt{2}, 1)", "(1, 1.414)", False),
    ("1.41, 2", "\\sqrt{2}, 2", True),
    ("1.41, 2", "\\sqrt{3}, 2", False),
    ("0.3", "\\frac{1}{3}", False),  # a 1-digit gold is too coarse to accept an exact answer
    ("\\frac{3}{16}", "0.188", False),  # a terminating value is compared exactly
    ("\\frac{3}{16}", "0.1875", True),
    ("123456789", "123456788", False),  # integers stay exact
    ("123456789", "123456789.4", False),
    ("0.1", "0.10000001", False),  # two decimals stay exact
    ("3.14", "3.1416", False),
]


@pytest.mark.parametrize(("gold", "pred", "expected"), DECIMALS)
def test_decimal_policy(gold: str, pred: str, expected: bool) -> None:
    """At 3 digits as written; strict: only the rows that hold without any rounding stay equal."""
    assert_rounding(gold, pred, expected, digits=3, exact=(gold, pred) == ("\\frac{3}{16}", "0.1875"))


@pytest.mark.parametrize(
    ("gold", "response", "expected"),
    [
        ("2, 3", "Both work: $\\boxed{2}$ and $\\boxed{3}$.", True),
        ("2, 3", "Both work: $\\boxed{3}$ and $\\boxed{2}$.", True),
        ("2, 3", "Both work: $\\boxed{2}$ and $\\boxed{4}$.", False),
        ("2", "Both work: $\\boxed{2}$ and $\\boxed{3}$.", False),  # a hedge is not the answer
        ("(1, 2)", "$\\boxed{1}$, $\\boxed{2}$", True),  # in order, as a bare list against a tuple
        ("(1, 2)", "$\\boxed{2}$, $\\boxed{1}$", False),
    ],
)
def test_adjacent_boxes_are_one_list(gold: str, response: str, expected: bool) -> None:
    assert compute_score("x", response, gold)["acc"] is expected

