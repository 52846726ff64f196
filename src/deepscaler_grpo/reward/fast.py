"""Fast, exact answer comparison without any symbolic work.

``fast_verdict(pred, gold)`` returns True / False when the pair can be decided by string
normalisation and exact rational arithmetic (``fractions.Fraction``), and None when it needs the
symbolic grader. It covers the bulk of math answers: integers (``1,234``, ``+5``, ``5.0``,
``025``), decimals, fractions in every spelling (``-2/3``, ``\\frac{-2}{3}``, ``\\dfrac``,
``\\tfrac``, ``\\frac34``, mixed numbers ``2\\frac{1}{2}``), repeating decimals
(``0.\\overline{3}``), scientific notation (``4.4\\times 10^7``, ``4.4e7``), percent, degrees,
units, ``x = 3``, multiple-choice letters, and comma lists / tuples / sets / intervals of those.

Every comparison is exact (``123456788`` never equals ``123456789``) except under the decimal
policy of ``decimals`` with the request's ``Grading.decimal_digits``: a decimal with that many significant
digits equals a non-terminating exact value rounded at its precision (``0.333`` = ``1/3`` at 3 digits;
``0.33`` and ``0.334`` are not; at 0 digits no decimal does).
Before comparing, ``clean`` applies the answer-form rewrites of ``forms`` and ``prepare`` the pair
rewrites of ``pairs`` (labels, function arguments, glued units). Inputs are bounded (``max_chars``)
before any regex or integer conversion.

Policies (one direction each, gold first):

- percent: gold ``25\\%`` accepts ``25\\%``, ``25`` (sign left out) and ``0.25`` (its value);
  gold ``0.25`` / ``\\frac14`` accepts ``25\\%`` (same value); a ``%`` added to a gold written as a
  plain numeral is read as a unit (gold ``25`` accepts ``25\\%``), but never for a fraction gold
  (gold ``\\frac14`` rejects ``0.25\\%``).
- degrees: the sign is optional on either side (``90^\\circ`` == ``90`` == ``90°`` ==
  ``90^\\circ\\text{C}``); an explicit degree sign equals the same angle written as a multiple of pi
  (``120^\\circ`` == ``\\frac{2\\pi}{3}``), a bare number never does (``90`` is not ``\\frac{\\pi}{2}``);
  degrees and minutes are one angle (``60^\\circ 42'`` == ``60.7^\\circ``): ``angles``.
- units (``units``): stripped after a number (``5 \\text{ cm}``, ``2.5 \\mathrm{~m\\,s^{-1}}``), never after
  a variable; when both sides give a unit, its powers must agree (``cm^2`` is not ``cm^3``) and, with
  ``Grading.units``, known units must agree or convert exactly (``1 km`` == ``1000 m``, ``10 km`` != ``10 m``).
- ratios, clock times and base subscripts: ``ratios``; lists, tuples, sets and the order a question asks
  for: ``lists``.
- a single number in parentheses is the number (``\\textbf{(051)}`` == ``51``).
"""

from __future__ import annotations

from fractions import Fraction

from deepscaler_grpo.reward.angles import angle_verdict
from deepscaler_grpo.reward.lists import chains_in_order, in_order, list_verdict
from deepscaler_grpo.reward.normalize import (
    APPROX_RE,
    DECIMAL_RE,
    GOLD_CHOICE_RE,
    MAX_FAST_CHARS,
    assigned_names_differ,
    choice_letter,
    clean,
    numbers_equal,
    numeric_equation_verdict,
    parse_number,
    rounded_decimal_equal,
    text_key,
)
from deepscaler_grpo.reward.pairs import align_pair, natural_logs
from deepscaler_grpo.reward.periodic import periodic_verdict
from deepscaler_grpo.reward.policy import Grading
from deepscaler_grpo.reward.prose import prose_verdict
from deepscaler_grpo.reward.ratios import base_verdict, ratio_verdict
from deepscaler_grpo.reward.units import glued_as_other, unit_power, unit_tail, units_agree

DEFAULT_GRADING = Grading()


def _units_verdict(pred: str, gold: str, grading: Grading) -> bool | None:
    """False when both sides carry units that disagree, the converted comparison when they differ in size,
    else None (the units are then stripped by ``clean``)."""
    tails = (unit_tail(pred), unit_tail(gold))
    if None not in tails and unit_power(tails[0].group(0)) != unit_power(tails[1].group(0)):  # type: ignore[union-attr]
        return False
    agree = units_agree(pred, gold) if grading.units else None
    if agree is None or (agree[0] and agree[1] is None):
        return None
    values = (parse_number(clean(pred)), parse_number(clean(gold)))
    if not agree[0] or None in values or any(isinstance(v.value, float) for v in values):  # type: ignore[union-attr]
        return False  # other dimensions, or a conversion of a value that is not a plain number
    (pred_factor, gold_factor), (pred_value, gold_value) = agree[1], values  # type: ignore[misc]
    return Fraction(pred_value.value) * pred_factor == Fraction(gold_value.value) * gold_factor


def prepare(pred: str, gold: str, grading: Grading = DEFAULT_GRADING) -> tuple[str, str] | bool:
    """The cleaned (pred, gold) pair both graders compare (``clean`` + ``pairs.align_pair``), or a verdict.

    Units are compared by ``_units_verdict`` and then stripped; a letter glued to a number is a unit only when
    the other side writes that unit (``4m`` vs ``4 \\mathrm{~m}``). When the question asks for an order, or
    one side is an order chain (``a < b < c``), bare lists become tuples (``lists.in_order``).
    """
    pred, gold = pred[: MAX_FAST_CHARS + 1].strip(), gold.strip()
    units = _units_verdict(pred.strip("$"), gold.strip("$"), grading)
    if units is not None:
        return units
    pred, gold = glued_as_other(pred, gold), glued_as_other(gold, pred)
    gold_c = clean(gold)
    if DECIMAL_RE.fullmatch(gold_c) and APPROX_RE.search(pred):
        pred = APPROX_RE.split(pred)[-1]  # a decimal gold is compared with the decimal side
    pred_c, gold_c = natural_logs(clean(pred), gold_c)
    for verdict_of in (prose_verdict, periodic_verdict):  # before labels: "x = a or x = b" repeats its label
        verdict = verdict_of(pred_c, gold_c)
        if verdict is not None:
            return verdict
    pair = align_pair(pred_c, gold_c)  # equal text is caught first thing in ``decide``
    if isinstance(pair, bool):
        return pair
    labelled = "=" in pred_c + gold_c  # "b = 3, a = 2": the labels say which value is which, not the order
    return chains_in_order(*pair) or (in_order(*pair) if grading.ordered and not labelled else pair)


def fast_verdict(pred: str, gold: str, grading: Grading = DEFAULT_GRADING) -> bool | None:
    """True/False when decidable exactly without symbolic work, else None (see module doc)."""
    if len(gold) > MAX_FAST_CHARS:
        return None
    if len(pred) > MAX_FAST_CHARS:
        return False  # no gold answer is this long
    pair = prepare(pred, gold, grading)
    return pair if isinstance(pair, bool) else decide(*pair, grading)


def decide(pred_c: str, gold_c: str, grading: Grading = DEFAULT_GRADING) -> bool | None:
    """``fast_verdict`` on a prepared pair."""
    if text_key(pred_c) == text_key(gold_c):
        return True
    if assigned_names_differ(pred_c, gold_c):
        return False
    sides = numeric_equation_verdict(pred_c, gold_c)
    if sides is not None:
        return sides
    if GOLD_CHOICE_RE.fullmatch(gold_c):
        return choice_letter(pred_c) == choice_letter(gold_c)
    for verdict_of in (base_verdict, ratio_verdict, angle_verdict):
        verdict = verdict_of(pred_c, gold_c)
        if verdict is not None:
            return verdict
    gold_num, pred_num = parse_number(gold_c), parse_number(pred_c)
    if gold_num is not None and pred_num is not None and (
        numbers_equal(pred_num, gold_num)
        or rounded_decimal_equal(pred_c, gold_c, pred_num, gold_num, grading.decimal_digits)
    ):
        return True
    listed = list_verdict(pred_c, gold_c, grading.decimal_digits)
    if listed is not None:
        return listed
    if gold_num is not None and pred_num is not None:
        return False
    return None
