"""The decimal policy on symbolic values, inside a worker: a decimal against an irrational exact value, alone
or as items of a list (``1/3, 1.732, 3.1416`` for ``\\frac13, \\sqrt3, \\pi``).

``decimal_policy(pred, gold, parsed_pred, parsed_gold, digits)`` is True when one side is a decimal (plain or
scientific, see ``decimals.read_decimal``) that the other side's exact value rounds to with at least ``digits``
significant digits, or when two lists agree item by item that way: each decimal item against its exact item,
every other item exactly (math-verify). Lists and sets in any order, tuples in order. ``digits`` 0: never.

    decimal_policy("1.732", "\\sqrt{3}", parse_latex_answer("1.732"), parse_latex_answer("\\sqrt{3}"), 4)  # True
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.reward.decimals import read_decimal, rounds_to, terminates
from deepscaler_grpo.reward.forms import split_top_level
from deepscaler_grpo.reward.latex import parse_latex_answer

if TYPE_CHECKING:
    from sympy import Basic

MAX_ITEMS = 12  # lists longer than this are left to math-verify as a whole


def approximates(decimal: str, exact: Basic, digits: int) -> bool:
    """The decimal policy for an irrational exact value (``decimals.rounds_to``)."""
    from sympy import Rational

    try:
        if not exact.is_number or exact.is_rational or not exact.is_real:
            return False
        approx = Rational(exact.evalf(40))
        return rounds_to(Fraction(int(approx.p), int(approx.q)), decimal, digits)
    except Exception:  # noqa: BLE001 - not a real number
        return False


def _items(text: str) -> tuple[list[str], bool]:
    """(items, ordered) of ``a, b`` / ``\\{a, b\\}`` (unordered) or ``(a, b)`` (ordered)."""
    text = text.strip()
    for left, right, ordered in (("(", ")", True), ("\\{", "\\}", False)):
        if text.startswith(left) and text.endswith(right) and len(text) > len(left) + len(right):
            return split_top_level(text[len(left) : -len(right)]), ordered
    return split_top_level(text), False


def _item_equal(pred: str, gold: str, digits: int) -> bool:
    """Two list items: a decimal against an exact value under the policy, anything else exactly."""
    from math_verify import verify

    decimals = read_decimal(pred), read_decimal(gold)
    if all(decimals):
        return decimals[0].value == decimals[1].value  # type: ignore[union-attr]
    parsed_pred, parsed_gold = parse_latex_answer(pred), parse_latex_answer(gold)
    if not parsed_pred or not parsed_gold:
        return False
    for decimal, text, exact in ((decimals[0], pred, parsed_gold[0]), (decimals[1], gold, parsed_pred[0])):
        if decimal is not None:
            if getattr(exact, "is_Rational", False):
                value = Fraction(int(exact.p), int(exact.q))
                return decimal.value == value or (not terminates(value) and rounds_to(value, text, digits))
            return approximates(text, exact, digits)
    return bool(verify(parsed_gold, parsed_pred, timeout_seconds=None))


def _lists_equal(pred: str, gold: str, digits: int) -> bool:
    """Item by item (``_item_equal``) when either list has a decimal item: in order for tuples, else any order."""
    (p_items, p_ordered), (g_items, g_ordered) = _items(pred), _items(gold)
    if p_ordered != g_ordered or len(p_items) != len(g_items) or not 2 <= len(p_items) <= MAX_ITEMS:
        return False
    if not any(read_decimal(item) for item in p_items + g_items):
        return False
    if p_ordered:
        return all(_item_equal(p, g, digits) for p, g in zip(p_items, g_items))
    remaining = list(g_items)
    for item in p_items:
        match = next((g for g in remaining if _item_equal(item, g, digits)), None)
        if match is None:
            return False
        remaining.remove(match)
    return True


def decimal_policy(pred: str, gold: str, parsed_pred: list[Any], parsed_gold: list[Any], digits: int) -> bool:
    """A decimal (or a list with decimals) on one side, irrational values on the other (module doc)."""
    if not digits:
        return False
    pred, gold = pred.strip(), gold.strip()
    if read_decimal(pred) and not read_decimal(gold):
        return approximates(pred, parsed_gold[0], digits)
    if read_decimal(gold) and not read_decimal(pred):
        return approximates(gold, parsed_pred[0], digits)
    return "," in pred and "," in gold and _lists_equal(pred, gold, digits)
