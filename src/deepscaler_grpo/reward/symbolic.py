"""Symbolic equivalence with math-verify + latex2sympy2_extended (runs inside a worker process).

Only the LaTeX extraction path of math-verify is used: its plain-expression path
(``ExprExtractionConfig``) calls sympy's ``parse_expr`` (an ``eval``) on the text, so model output
never goes there. latex2sympy's ANTLR grammar builds sympy objects directly.

Floats are turned into exact rationals before comparing, so math-verify's 6-digit float rounding
cannot accept ``0.3333`` for ``1/3``. math-verify's own signal-based timeouts are disabled (they
fail off the main thread); the parent enforces the wall-clock limit by killing the worker.

``is_safe_for_symbolic(text)`` is the cheap size guard applied before anything is sent here.
"""

from __future__ import annotations

import logging
import re

MAX_SYMBOLIC_CHARS = 600
MAX_BRACE_DEPTH = 30
MAX_NUMBER_DIGITS = 200
_BIG_EXPONENT_RE = re.compile(r"\^\s*\{?\s*[+-]?\s*\d{4,}")  # 2^{10000}: big integer arithmetic
_TOWER_RE = re.compile(r"\^\s*\{[^{}]*\d\s*\^")  # 10^{10^{10}}
_BIG_FACTORIAL_RE = re.compile(r"\d{4,}\s*!|\\(?:Gamma|binom)\s*\{?\s*\d{5,}")
_LONG_NUMBER_RE = re.compile(r"\d{%d,}" % (MAX_NUMBER_DIGITS + 1))


def brace_depth(text: str) -> int:
    """Maximum nesting depth of {}, () and []."""
    depth = best = 0
    for char in text:
        if char in "{([":
            depth += 1
            best = max(best, depth)
        elif char in "})]":
            depth -= 1
    return best


def is_safe_for_symbolic(text: str, max_chars: int = MAX_SYMBOLIC_CHARS) -> bool:
    """Cheap checks that keep hostile input (huge numbers, towers, deep nesting) away from sympy."""
    if len(text) > max_chars or brace_depth(text) > MAX_BRACE_DEPTH:
        return False
    return not (
        _BIG_EXPONENT_RE.search(text)
        or _TOWER_RE.search(text)
        or _BIG_FACTORIAL_RE.search(text)
        or _LONG_NUMBER_RE.search(text)
    )


def _rationalize(expr):  # noqa: ANN001, ANN202 - sympy objects
    """Replace every Float by the exact Rational of its decimal text (0.75 -> 3/4)."""
    from sympy import Float, Rational

    try:
        return expr.replace(lambda e: isinstance(e, Float), lambda e: Rational(str(e)))
    except Exception:  # noqa: BLE001 - matrices and odd objects: keep as is
        return expr


def parse_latex_answer(text: str) -> list:
    """math-verify parse of one answer string via the LaTeX path only (no ``parse_expr``)."""
    from math_verify import LatexExtractionConfig, parse

    config = LatexExtractionConfig(boxed_match_priority=0)
    parsed = parse("\\boxed{" + text + "}", [config], parsing_timeout=None)
    return [_rationalize(p) if not isinstance(p, str) else p for p in parsed]


def _numeric_value(expr, point: dict) -> complex | None:  # noqa: ANN001 - sympy objects
    try:
        value = complex(expr.evalf(30, subs=point))
    except Exception:  # noqa: BLE001 - functions, sets, symbols left over: unknown
        return None
    return value if value == value and abs(value) != float("inf") else None


def clearly_different(gold, pred, points: int = 2) -> bool:  # noqa: ANN001 - sympy objects
    """Cheap disproof before simplify/solve: the two expressions differ at random exact points.

    Only for plain expressions (or assignments to the same name), evaluated over the union of
    their symbols (equal expressions agree everywhere, whatever symbols each one mentions), without
    percent markers; anything it cannot evaluate counts as "not clearly different".
    """
    from random import Random

    from sympy import Eq, Expr, Rational, UnevaluatedExpr

    if isinstance(gold, Eq) and isinstance(pred, Eq) and gold.lhs == pred.lhs:
        gold, pred = gold.rhs, pred.rhs
    if not (isinstance(gold, Expr) and isinstance(pred, Expr)):
        return False
    if gold.has(UnevaluatedExpr) or pred.has(UnevaluatedExpr):
        return False
    rng = Random(0)
    symbols = sorted(gold.free_symbols | pred.free_symbols, key=str)
    for _ in range(points if symbols else 1):
        point = {sym: Rational(rng.randint(300, 2700), 1000) for sym in symbols}
        a, b = _numeric_value(gold, point), _numeric_value(pred, point)
        if a is None or b is None:
            return False
        if abs(a - b) > 1e-9 * max(1.0, abs(a), abs(b)):
            return True
    return False


def _align_symbols(gold, pred):  # noqa: ANN001, ANN202 - sympy objects
    """``pred`` with each symbol replaced by the gold's symbol of the same name.

    latex2sympy gives ``t`` ``real=True`` in one answer and ``real=False`` in another (e.g. when
    ``i`` appears in parentheses); such symbols never compare equal, so the names decide.
    """
    try:
        by_name = {str(sym): sym for sym in gold.free_symbols}
        mapping = {sym: by_name[str(sym)] for sym in pred.free_symbols if str(sym) in by_name and by_name[str(sym)] != sym}
        return pred.xreplace(mapping) if mapping else pred
    except Exception:  # noqa: BLE001 - strings, matrices without free_symbols
        return pred


def _unreliable(expr) -> bool:  # noqa: ANN001 - sympy objects
    """latex2sympy output that is not the answer: ``\\gamma^{2}`` becomes ``zoo**2``."""
    from sympy import nan, zoo

    try:
        return bool(expr.has(zoo) or expr.has(nan))
    except Exception:  # noqa: BLE001
        return False


def symbolic_equal(pred: str, golds: list[str]) -> bool:
    """True when ``pred`` is equivalent to any of ``golds`` per math-verify (exact numbers)."""
    from math_verify import verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    if not is_safe_for_symbolic(pred):
        return False
    parsed_pred = parse_latex_answer(pred)
    if not parsed_pred:
        return False
    if _unreliable(parsed_pred[0]):
        return False
    for gold in golds:
        parsed_gold = parse_latex_answer(gold)
        if not parsed_gold or _unreliable(parsed_gold[0]):
            continue
        pred_expr = _align_symbols(parsed_gold[0], parsed_pred[0])
        if pred_expr == parsed_gold[0]:
            return True  # identical parse: skip math-verify's simplify, which can hang on exp/complex
        if clearly_different(parsed_gold[0], pred_expr):
            continue
        if verify(parsed_gold, [pred_expr, *parsed_pred[1:]], timeout_seconds=None, allow_set_relation_comp=True):
            return True
    return False
