"""Property-based fuzzing: the verifier never raises and always answers within its time bound."""

from __future__ import annotations

import time
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deepscaler_grpo.reward import VerifierPolicy, compute_score, extract_answer, verify
from deepscaler_grpo.reward.fast import fast_verdict

TIMEOUT_S = 1.0
THREE_DIGITS = VerifierPolicy(decimal_digits=3)
BOUND_S = TIMEOUT_S + 4.0

LATEX_PIECES = st.sampled_from(
    ["\\frac{", "}{", "}", "{", "\\sqrt", "^", "_", "\\boxed{", "<answer>", "</answer>", "$", "\\left(", "\\right)",
     "1", "2", "9", "0.5", "-", "+", ",", "x", "\\pi", "\\infty", "\\text{", "%", "^\\circ", "=", "(", ")", "[", "]",
     "\\{", "\\}", "e", "10^{", "!", "\\cdot", "\\times", " ", "\\\\", "&", "\\begin{pmatrix}", "\\end{pmatrix}"]
)
LATEXISH = st.lists(LATEX_PIECES, max_size=30).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=200), LATEXISH)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(ANY_TEXT)
def test_extract_answer_never_raises(text: str) -> None:
    result = extract_answer(text)
    assert result is None or (isinstance(result, str) and result)


@FUZZ
@given(ANY_TEXT, ANY_TEXT)
def test_fast_path_never_raises(pred: str, gold: str) -> None:
    assert fast_verdict(pred, gold) in (True, False, None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT, st.one_of(LATEXISH, st.integers(), st.floats(allow_nan=True), st.lists(LATEXISH, max_size=3)))
def test_compute_score_never_raises_and_is_bounded(solution: str, ground_truth: object) -> None:
    start = time.monotonic()
    result = compute_score("fuzz", f"<answer>{solution}</answer>", ground_truth, timeout_s=TIMEOUT_S)
    assert time.monotonic() - start < BOUND_S
    assert result["score"] in (0.0, 1.0)


@FUZZ
@given(st.integers(-10**30, 10**30), st.integers(1, 10**6))
def test_fractions_are_exact(numerator: int, denominator: int) -> None:
    exact = f"\\frac{{{numerator}}}{{{denominator}}}"
    assert verify(f"{numerator}/{denominator}", exact)
    assert not verify(f"\\frac{{{numerator + 1}}}{{{denominator}}}", exact)


@FUZZ
@given(st.integers(-10**15, 10**15))
def test_integer_spellings(value: int) -> None:
    assert verify(f"{value:,}", str(value))
    assert verify(f"{value}.0", float(value) if abs(value) < 2**52 else str(value))
    assert not verify(str(value + 1), str(value))


def _decimal_text(value: Fraction, places: int) -> str:
    """``value`` rounded to ``places`` decimals, written out."""
    scaled = round(value * 10**places)
    sign, digits = ("-" if scaled < 0 else ""), str(abs(scaled)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


@FUZZ
@given(st.integers(-10**6, 10**6), st.sampled_from([3, 7, 9, 11, 13, 21, 37, 101]), st.integers(3, 8))
def test_decimal_policy_property(numerator: int, denominator: int, places: int) -> None:
    """A non-terminating fraction accepts its rounding with >= 3 significant digits, never one unit off."""
    value = Fraction(numerator, denominator)
    assume(value.denominator != 1 and abs(value) >= Fraction(1, 10))  # non-terminating, 3+ significant digits
    gold = f"\\frac{{{value.numerator}}}{{{value.denominator}}}"
    rounded = _decimal_text(value, places)
    assert verify(rounded, gold, policy=THREE_DIGITS)
    assert not verify(rounded, gold, policy=VerifierPolicy.strict())
    assert not verify(_decimal_text(Fraction(rounded) + Fraction(1, 10**places), places), gold, policy=THREE_DIGITS)
    assert not verify(_decimal_text(Fraction(rounded) - Fraction(1, 10**places), places), gold, policy=THREE_DIGITS)
