"""Comma lists, tuples, sets and intervals whose items are plain numbers (or plain names), decided exactly.

Bare lists and sets are unordered (solutions in any order), unless the question asks for an order
(``Grading.ordered``): then a bare list is compared item by item, like a tuple. A list of tuples stays
unordered at the top (``Find all ordered pairs``: the pairs in any order, each pair in order). Tuples and
intervals are ordered and keep their brackets. Items follow the decimal policy (``0.333`` for ``\\frac13``).

    list_verdict("2, 1", "1, 2", digits=0)        # True
    list_verdict(*in_order("2, 1", "1, 2"), 0)    # False: the question asked for an order
"""

from __future__ import annotations

import re

from deepscaler_grpo.reward.forms import LIST_AND_RE, split_top_level
from deepscaler_grpo.reward.normalize import (
    clean,
    numbers_equal,
    parse_number,
    rounded_decimal_equal,
    strip_assignment,
    text_key,
)
from deepscaler_grpo.reward.numbers import Number

_ATOM_RE = re.compile(r"\\?[A-Za-z]+(?:_\w)?|[A-Za-z][A-Za-z' -]*")  # a name: E_1, \\alpha, Friday
_BRACKETS = {"(": ")", "[": "]", "\\{": "\\}", "\\lbrace": "\\rbrace", "\\langle": "\\rangle"}
_SETS = frozenset({"", "\\{", "\\lbrace"})
_CHAIN_SPLIT_RE = re.compile(r"\s*(<|>|\\lt(?![A-Za-z])|\\gt(?![A-Za-z]))\s*")
_NOT_AN_ITEM_RE = re.compile(r"[=,;]|\\[lg]e|\\cup|\\in(?![A-Za-z])")


def bracketed(s: str) -> tuple[str, str, str]:
    """(open, inner, close) for ``(a,b)``, ``[a,b)``, ``\\{a,b\\}``; ('', s, '') when bare."""
    for left in _BRACKETS:
        if s.startswith(left):
            for right in (")", "]", "\\}", "\\rbrace", "\\rangle"):
                if s.endswith(right) and len(s) > len(left) + len(right):
                    inner = s[len(left) : len(s) - len(right)]
                    if inner.count("(") == inner.count(")") and inner.count("[") == inner.count("]"):
                        return left, inner, right
    return "", s, ""


Element = tuple[str, Number]  # (cleaned text, value) of a list item


def _element_numbers(items: list[str]) -> list[Element] | None:
    """(text, value) of every item, or None at the first one that is not a plain number."""
    elements = []
    for item in items:
        text = strip_assignment(clean(item))
        value = parse_number(text)
        if value is None:
            return None
        elements.append((text, value))
    return elements


def _elements_equal(pred: Element, gold: Element, digits: int) -> bool:
    """Exact equality, or the decimal policy (``0.333`` for ``\\frac13`` inside a list too)."""
    return numbers_equal(pred[1], gold[1]) or rounded_decimal_equal(pred[0], gold[0], pred[1], gold[1], digits)


def _same_multiset(pred: list[Element], gold: list[Element], digits: int) -> bool:
    remaining = list(gold)
    for value in pred:
        match = next((i for i, g in enumerate(remaining) if _elements_equal(value, g, digits)), None)
        if match is None:
            return False
        remaining.pop(match)
    return not remaining


def _names_verdict(pred: tuple[str, list[str]], gold: tuple[str, list[str]]) -> bool | None:
    """Lists of names (``E_1, E_2``, ``Monday, Friday``) latex2sympy cannot read: sets unordered, tuples in order."""
    (p_open, p_items), (g_open, g_items) = pred, gold
    if not all(_ATOM_RE.fullmatch(text_key(i)) for i in p_items + g_items):
        return None
    p_keys, g_keys = list(map(text_key, p_items)), list(map(text_key, g_items))
    if p_open in _SETS and g_open in _SETS:
        return sorted(p_keys) == sorted(g_keys)
    return p_keys == g_keys if p_open == g_open == "(" else None


def list_verdict(pred: str, gold: str, digits: int) -> bool | None:
    """Decide comma lists, tuples, sets and intervals whose elements are all plain numbers (or names)."""
    p_open, p_inner, p_close = bracketed(pred)
    g_open, g_inner, g_close = bracketed(gold)
    p_items = split_top_level(LIST_AND_RE.sub(",", p_inner))
    g_items = split_top_level(LIST_AND_RE.sub(",", g_inner))
    if len(g_items) < 2 and not g_open:
        return None
    g_nums = _element_numbers(g_items)
    p_nums = _element_numbers(p_items) if g_nums is not None else None  # either None: the same fallback
    if p_nums is None or g_nums is None:
        return _names_verdict((p_open, p_items), (g_open, g_items))
    if p_open in _SETS and g_open in _SETS:  # bare lists and sets of solutions: unordered
        return _same_multiset(p_nums, g_nums, digits)
    if not p_open or not g_open:
        return None  # tuple vs bare list: leave it to the symbolic grader
    if (p_open, p_close) != (g_open, g_close) or len(p_nums) != len(g_nums):
        return False
    return all(_elements_equal(p, g, digits) for p, g in zip(p_nums, g_nums))


def _orderable(s: str) -> str | None:
    """The items of a bare list or a set (``1, 2`` / ``\\{1, 2\\}``) that are not tuples themselves, else None."""
    left, inner, _ = bracketed(s)
    if left not in _SETS:
        return None
    items = split_top_level(LIST_AND_RE.sub(",", inner))
    if len(items) < 2 or any(i[:1] in "([" or i.startswith("\\{") or not i for i in items):
        return None  # one item, or a list of tuples: "Find all ordered pairs" orders each pair, not the list
    return ", ".join(items)


def in_order(pred: str, gold: str) -> tuple[str, str]:
    """The question asks for an order: bare lists and sets become tuples (``1, 2`` -> ``(1, 2)``), so every grader
    compares them item by item; a tuple on the other side stays as it is."""
    p_items, g_items = _orderable(pred), _orderable(gold)
    if g_items is not None and (p_items is not None or bracketed(pred)[0] == "("):
        gold = f"({g_items})"
    if p_items is not None and (g_items is not None or bracketed(gold)[0] == "("):
        pred = f"({p_items})"
    return pred, gold


def order_chain(s: str) -> str | None:
    """``a < b < c`` / ``c > b > a`` -> ``a, b, c`` (least first): three or more items, all in one direction."""
    if "<" not in s and ">" not in s and "\\lt" not in s and "\\gt" not in s:
        return None
    parts = _CHAIN_SPLIT_RE.split(s.strip())
    items, relations = [item.strip() for item in parts[0::2]], parts[1::2]
    rising = {relation in ("<", "\\lt") for relation in relations}
    if len(items) < 3 or not all(items) or len(rising) != 1 or any(_NOT_AN_ITEM_RE.search(i) for i in items):
        return None
    return ", ".join(items if rising.pop() else items[::-1])


def chains_in_order(pred: str, gold: str) -> tuple[str, str] | None:
    """An order chain against a list or a chain: both as tuples, least first (``a<b<c`` = ``a, b, c`` only)."""
    chains = order_chain(pred), order_chain(gold)
    if chains == (None, None):
        return None
    sides = [chain if chain is not None else side for chain, side in zip(chains, (pred, gold))]
    if any(_orderable(side) is None for side in sides):
        return None  # a chain against an interval or anything else: left to the other graders
    return in_order(*sides)
