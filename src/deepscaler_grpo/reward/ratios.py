"""Ratios, clock times and numbers written in a base: answers latex2sympy would misread.

- ratios ``a:b(:c...)`` of numbers equal a proportional ratio (``1:2`` == ``2:4``); a two-part ratio also
  equals its quotient (``1:2`` == ``\\frac12``); longer ratios equal no single number (``1:2:3`` is not
  ``\\frac16``, which latex2sympy would read). Clock times (``3:30``, ``10:05 p.m.``, ``20:34:00``) only equal
  the same time.
- base subscripts: gold ``1011_2`` accepts ``1011_{2}``, ``(1011)_2`` and the bare digits ``1011``, never
  another base (``1011_3``) nor the decimal value (``11``): the question asks for base 2.

    ratio_verdict("2:4", "1:2")   # True; None when neither side is a ratio
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from deepscaler_grpo.reward.normalize import parse_number
from deepscaler_grpo.reward.numbers import Number

_BASE_RE = re.compile(r"\(?([0-9A-Za-z]+)\)?_\{?\(?(\d{1,2})\)?\}?|([0-9A-Fa-f]+)")
_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*(?:\\text\{\s*)?([ap])\.?\s*m\.?\s*\}?)?", re.IGNORECASE)


def _clock_time(s: str) -> tuple[int, Fraction, int] | None:
    """(hour mod 12, minute (seconds as its fraction), half: 0 unknown / 1 a.m. / 2 p.m.) for a time, not a ratio.

    A time: a.m./p.m. given, seconds given (``20:34:00`` = ``20:34``), or minutes with a leading zero
    (``3:05``), two-digit hours (``10:30``), or a pair no one would leave unreduced as a ratio (``3:30``).
    """
    match = _CLOCK_RE.fullmatch(s)
    if match is None:
        return None
    hours, minutes, seconds = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    half = (match.group(4) or "").lower()
    if hours > 24 or minutes > 59 or seconds > 59:
        return None
    looks_like_time = (half or match.group(3) or match.group(2)[0] == "0" or len(match.group(1)) == 2
                       or math.gcd(hours, minutes) > 1)
    if not looks_like_time:
        return None
    half_code = {"a": 1, "p": 2}.get(half, 2 if hours > 12 else 0)
    return hours % 12, minutes + Fraction(seconds, 60), half_code


def _ratio_parts(s: str, clock_ok: bool = True) -> tuple[list[Number], bool] | None:
    """(parts, is_clock_time) of ``a:b(:c...)`` whose parts are all plain numbers, else None."""
    s = re.sub(r"\s*(?::|\\colon)\s*", ":", s)
    if ":" not in s or s.count(":") > 20:
        return None
    clock = _clock_time(s.strip()) if clock_ok else None
    if clock is not None:
        return [Number(Fraction(part)) for part in clock], True
    parts = [parse_number(part.strip()) for part in s.split(":")]
    if len(parts) < 2 or any(p is None or p.percent or isinstance(p.value, float) for p in parts):
        return None
    return parts, False  # type: ignore[return-value]


def _proportional(pred: list[Number], gold: list[Number]) -> bool:
    if len(pred) != len(gold) or all(g.value == 0 for g in gold):
        return False
    pivot = next(i for i, g in enumerate(gold) if g.value != 0)
    factor = pred[pivot].value / gold[pivot].value
    return factor != 0 and all(p.value == factor * g.value for p, g in zip(pred, gold))


def _valid_in_base(digits: str, base: str) -> bool:
    radix = int(base)
    return 2 <= radix <= 36 and radix != 10 and all(int(d, 36) < radix for d in digits)


def base_verdict(pred: str, gold: str) -> bool | None:
    """Numbers written in a base (``1011_2``): same digits, same or omitted base; None if the gold has no base."""
    gold_match = _BASE_RE.fullmatch(re.sub(r"\s+", "", gold))
    if gold_match is None or gold_match.group(1) is None or not _valid_in_base(*gold_match.group(1, 2)):
        return None  # no base, or a subscripted variable (x_1)
    pred_match = _BASE_RE.fullmatch(re.sub(r"\s+", "", pred))
    if pred_match is None:
        return False
    if pred_match.group(3) is not None:  # bare digits
        return pred_match.group(3).lower() == gold_match.group(1).lower()
    pred_key = (pred_match.group(1).lower(), int(pred_match.group(2)))
    return pred_key == (gold_match.group(1).lower(), int(gold_match.group(2)))


def ratio_verdict(pred: str, gold: str) -> bool | None:
    """Decide numeric ratios and clock times (see the module doc); None when neither side is one.

    Decided here, never symbolically: latex2sympy reads ``:`` as division (``1:2:3`` -> 1/6).
    """
    gold_ratio = _ratio_parts(gold)
    pred_ratio = _ratio_parts(pred, clock_ok=gold_ratio is not None and gold_ratio[1])  # the gold says if it is a time
    if gold_ratio is None and pred_ratio is None:
        return None
    if gold_ratio is not None and pred_ratio is not None:
        (g_parts, g_clock), (p_parts, _) = gold_ratio, pred_ratio
        if g_clock:  # same hour and minute; a.m./p.m. must agree only when both give it
            (p_hour, p_min, *p_half), (g_hour, g_min, g_half) = p_parts, g_parts
            halves_agree = not p_half or 0 in (p_half[0].value, g_half.value) or p_half[0].value == g_half.value
            return (p_hour.value, p_min.value) == (g_hour.value, g_min.value) and halves_agree
        return _proportional(p_parts, g_parts)
    (parts, clock), other = (gold_ratio, parse_number(pred)) if gold_ratio else (pred_ratio, parse_number(gold))
    if clock or other is None or len(parts) != 2 or parts[1].value == 0:
        return False if other is not None or gold_ratio is not None else None
    return other.value == parts[0].value / parts[1].value
