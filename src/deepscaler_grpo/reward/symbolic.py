"""Symbolic equivalence with math-verify + latex2sympy2_extended (runs inside a worker process).

Answers are parsed by ``latex.parse_latex_answer`` (math-verify's LaTeX path only: model output never reaches
``parse_expr``; floats become exact rationals, so math-verify's 6-digit float rounding cannot accept
``0.3333`` for ``1/3``). math-verify's own signal-based timeouts are disabled (they fail off the main
thread); the parent enforces the wall-clock limit by killing the worker.

Assumptions (see ``_align_symbols``): in plain expressions with a radical or fractional power, every
free symbol is a positive real (lengths, speeds, radii: ``\\sqrt{a^2}`` = ``a``, ``(r^3)^{1/3}`` = ``r``;
never with ``|x|``, so ``|x|`` != ``x``); ``i`` is the imaginary unit; a free parameter of a general
solution may be renamed (``k\\pi`` = ``n\\pi``, ``+ C`` = ``+ c``).
math-verify's unit stripping is off: ``6m`` is ``6 m``, never ``6`` metres (units are stripped by
``normalize.clean`` only after a number). The decimal policy of ``decimals`` covers irrational values here
(``approx``), with the digits of the request's ``Grading``.

``is_safe_for_symbolic(text)`` is the cheap size guard applied before anything is sent here.
"""

from __future__ import annotations

import cmath
import logging
import re
from typing import TYPE_CHECKING

from deepscaler_grpo.reward.approx import decimal_policy
from deepscaler_grpo.reward.latex import parse_latex_answer
from deepscaler_grpo.reward.policy import Grading

if TYPE_CHECKING:
    from sympy import Basic  # sympy is imported lazily: only worker processes load it

MAX_SYMBOLIC_CHARS = 600
MAX_BRACE_DEPTH = 30
MAX_NUMBER_DIGITS = 200
_BIG_EXPONENT_RE = re.compile(r"\^\s*\{?\s*[+-]?\s*\d{4,}")  # 2^{10000}: big integer arithmetic
_TOWER_RE = re.compile(r"\^\s*\{[^{}]*\d\s*\^")  # 10^{10^{10}}
_BIG_FACTORIAL_RE = re.compile(r"\d{4,}\s*!|\\(?:Gamma|binom)\s*\{?\s*\d{5,}")
_LONG_NUMBER_RE = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")


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


def _numeric_value(expr: Basic, point: dict) -> complex | None:
    try:
        value = complex(expr.evalf(30, subs=point))
    except Exception:  # noqa: BLE001 - functions, sets, symbols left over: unknown
        return None
    return value if not cmath.isnan(value) and abs(value) != float("inf") else None


def clearly_different(gold: Basic, pred: Basic, points: int = 2) -> bool:
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


_CONSTANT_NAMES = frozenset({"C", "c", "K", "k", "C_1", "c_1", "C_{1}", "c_{1}"})  # latex2sympy may lower-case
_INTEGER_PARAMETERS = frozenset({"k", "n", "m", "j", "l", "p", "q"})


def _renamed_parameter(gold: Basic, pred: Basic) -> dict[Basic, Basic]:
    """{pred symbol: gold symbol} when each side has one free parameter of its own, of the same kind.

    An arbitrary constant (``C`` vs ``c``), or an integer parameter of a periodic solution (``k\\pi`` vs
    ``n\\pi``, only when the gold mentions pi): any name means the same family of answers.
    """
    from sympy import pi

    gold_only = {str(s): s for s in gold.free_symbols - pred.free_symbols}
    pred_only = {str(s): s for s in pred.free_symbols - gold.free_symbols}
    if len(gold_only) != 1 or len(pred_only) != 1:
        return {}
    (gold_name, gold_sym), (pred_name, pred_sym) = *gold_only.items(), *pred_only.items()
    constants = {gold_name, pred_name} <= _CONSTANT_NAMES
    integers = {gold_name, pred_name} <= _INTEGER_PARAMETERS and gold.has(pi)
    return {pred_sym: gold_sym} if constants or integers else {}


def _positive(expr: Basic) -> Basic:
    """Every free symbol of a plain expression as a positive real of the same name."""
    from sympy import Expr, Symbol

    if not isinstance(expr, Expr):
        return expr
    mapping = {s: Symbol(str(s), positive=True) for s in expr.free_symbols if isinstance(s, Symbol)}
    return expr.xreplace(mapping) if mapping else expr


def _radical_without_abs(gold: Basic, pred: Basic) -> bool:
    """A radical or fractional power on either side and no ``|x|``: where the positivity policy applies."""
    from sympy import Abs, Pow

    def radical(expr: Basic) -> bool:
        """A power whose exponent is not an integer (sqrt, cube root, x^{3/2})."""
        return any(not p.exp.is_integer for p in expr.atoms(Pow))

    return (radical(gold) or radical(pred)) and not (gold.has(Abs) or pred.has(Abs))


def _align_symbols(gold: Basic, pred: Basic) -> tuple[Basic, Basic]:
    """(gold, pred) with symbols matched by name, a renamed free parameter matched, positive symbols.

    latex2sympy gives ``t`` ``real=True`` in one answer and ``real=False`` in another (e.g. when
    ``i`` appears in parentheses); such symbols never compare equal, so the names decide. Positive
    symbols only for two plain expressions with a radical and no ``|x|`` (an inequality over a positive
    ``x`` would collapse, and ``|x|`` is not ``x``).
    """
    from sympy import Expr

    try:
        by_name = {str(sym): sym for sym in gold.free_symbols}
        mapping = {s: by_name[str(s)] for s in pred.free_symbols if str(s) in by_name and by_name[str(s)] != s}
        pred = pred.xreplace(mapping) if mapping else pred
        pred = pred.xreplace(_renamed_parameter(gold, pred))
        if isinstance(gold, Expr) and isinstance(pred, Expr) and _radical_without_abs(gold, pred):
            return _positive(gold), _positive(pred)
        return gold, pred
    except Exception:  # noqa: BLE001 - strings, matrices without free_symbols
        return gold, pred


def _unreliable(expr: Basic) -> bool:
    """latex2sympy output that is not the answer: ``\\gamma^{2}`` becomes ``zoo**2``."""
    from sympy import nan, zoo

    try:
        return bool(expr.has(zoo) or expr.has(nan))
    except Exception:  # noqa: BLE001
        return False


def symbolic_equal(pred: str, golds: list[str], grading: Grading | None = None) -> bool:
    """True when ``pred`` is equivalent to any of ``golds`` per math-verify (exact numbers, policies above).

    ``grading``: the request's switches (None: ``Grading()``, the documented defaults).
    """
    from math_verify import verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    digits = (grading or Grading()).decimal_digits
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
        gold_expr, pred_expr = _align_symbols(parsed_gold[0], parsed_pred[0])
        if pred_expr == gold_expr or decimal_policy(pred, gold, parsed_pred, parsed_gold, digits):
            return True  # identical parse: skip math-verify's simplify, which can hang on exp/complex
        if clearly_different(gold_expr, pred_expr):
            continue
        if verify([gold_expr, *parsed_gold[1:]], [pred_expr, *parsed_pred[1:]], timeout_seconds=None,
                  allow_set_relation_comp=True):
            return True
    return False
