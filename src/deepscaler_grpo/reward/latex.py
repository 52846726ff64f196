"""LaTeX answers as sympy objects, through math-verify's LaTeX path only (runs inside a worker process).

Only the LaTeX extraction path of math-verify is used: its plain-expression path (``ExprExtractionConfig``) calls
sympy's ``parse_expr`` (an ``eval``) on the text, so model output never goes there; latex2sympy's ANTLR grammar
builds sympy objects directly. Floats become the exact rationals of their decimal text and a free ``i`` is the
imaginary unit. Shared by ``symbolic`` (whole answers) and ``approx`` (list items under the decimal policy).

    parse_latex_answer("\\frac{1}{2} + 0.25")   # [3/4, '\\frac{1}{2} + 0.25']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sympy import Basic  # sympy is imported lazily: only worker processes load it


def _rationalize(expr: Basic) -> Basic:
    """Replace every Float by the exact Rational of its decimal text (0.75 -> 3/4)."""
    from sympy import Float, Rational

    try:
        return expr.replace(lambda e: isinstance(e, Float), lambda e: Rational(str(e)))
    except Exception:  # noqa: BLE001 - matrices and odd objects: keep as is
        return expr


def _imaginary_unit(expr: Basic) -> Basic:
    """latex2sympy reads ``i`` as a symbol: it is the imaginary unit (``i^2`` = -1)."""
    from sympy import I, Symbol

    try:
        free = {str(sym): sym for sym in expr.free_symbols if isinstance(sym, Symbol)}
        return expr.xreplace({free["i"]: I}) if "i" in free else expr
    except Exception:  # noqa: BLE001 - strings, matrices, bound variables
        return expr


def parse_latex_answer(text: str) -> list:
    """math-verify parse of one answer string via the LaTeX path only (no ``parse_expr``), units kept."""
    from latex2sympy2_extended.latex2sympy2 import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse

    normalization = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True, nits=True)
    config = LatexExtractionConfig(boxed_match_priority=0, normalization_config=normalization)
    parsed = parse("\\boxed{" + text + "}", [config], parsing_timeout=None)
    return [_imaginary_unit(_rationalize(p)) if not isinstance(p, str) else p for p in parsed]
