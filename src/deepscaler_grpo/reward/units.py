"""Units after a number: find them (``UNIT_TAIL_RE``, ``unit_tail``), read them (``read_unit``) and decide
whether two answers' units agree (``units_agree``).

A unit counts only after a number (``5 \\text{ cm}``, ``2.5 \\mathrm{~m\\,s^{-1}}``, ``15 square feet``), never
after a variable (``2x \\text{ m}`` keeps its ``m``). Reading a unit gives its dimension and its exact factor to
SI (``km`` -> length x 1000, ``mph`` -> length/time x 1609.344/3600): SI symbols with prefixes, derived units
(``N``, ``J``, ``W``, ``Pa``, ``Hz``, ``eV``), imperial lengths and masses by their exact definitions, time,
money (``dollars`` / ``cents``), powers (``cm^2``, ``square feet``, ``s^{-1}``), ``/`` and ``per``. Words it
does not know (``ways``, ``apples``, ``square units``) are no unit to compare: those tails are stripped unread.

    units_agree("10 \\text{ km}", "10 \\text{ m}")    # (False, None): same dimension, other size
    units_agree("1 \\text{ km}", "1000 \\text{ m}")   # (True, (Fraction(1000), Fraction(1))): factors to compare
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from deepscaler_grpo.reward.forms import TEXT_CMD

_UNIT_WORDS = (
    "units?|square units?|sq\\.? units?|cubic units?|cm|mm|km|m|meters?|metres?|centimeters?|"
    "millimeters?|kilometers?|inch|inches|in|feet|foot|ft|yards?|yd|miles?|mi|mph|kmh|km/h|m/s|"
    "square (?:inches|feet|meters|cm|units|miles|yards)|sq\\.? (?:inches|feet|ft|meters|m|cm|units)|"
    "cubic (?:inches|feet|meters|cm|units|yards)|seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|days?|"
    "weeks?|months?|years?|degrees?|radians?|dollars?|cents?|euros?|pounds?|lbs?|ounces?|oz|grams?|g|"
    "kg|kilograms?|liters?|litres?|l|ml|gallons?|cups?|points?|ways?|people|students?|games?|"
    "times|percent|calories|miles per hour|steps?|boxes|coins?|pieces?|handshakes?|numbers?|integers?"
)
# After a plain space only multi-letter units count: "2 n" must keep its variable.
_SPACED_UNIT_WORDS = "|".join(w for w in _UNIT_WORDS.split("|") if len(w.rstrip("?")) > 2 and w not in ("in",))
UNIT_TAIL_RE = re.compile(
    r"(?<=[\d}.])\s*(?:" + TEXT_CMD + r"\{\s*(?:" + _UNIT_WORDS + r")\.?\s*\}|\s(?:" + _SPACED_UNIT_WORDS + r")\.?)"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?$",
    re.IGNORECASE,
)
_UNIT_HINT_RE = re.compile(r"\\(?:text|mathrm|mbox|rm)|\s[A-Za-z]")
_SI = r"(?:[kMGmunμc]?(?:m|s|g|N|J|W|Pa|K|mol|A|V|Hz|eV|C|L|T|rad)|min|h|atm|bar|erg|ly|AU|pc)"
_SI_POWER = r"(?:\s*\^\s*\{?\s*-?\s*\d\s*\}?)?"
SI_UNIT_TAIL_RE = re.compile(  # physics units in \text{}/\mathrm{} after a number: "\mathrm{~m s^{-1}}", "\text{kg}"
    r"(?<=[\d}.])\s*\\(?:text|mathrm|rm)\s*\{\s*" + _SI + _SI_POWER + r"(?:\s*(?:/|\s|\\cdot)\s*" + _SI + _SI_POWER
    + r")*\s*\}" + _SI_POWER + r"(?:\s*(?:/|\\cdot)?\s*\\(?:text|mathrm)\s*\{\s*" + _SI + r"\s*\}" + _SI_POWER + r")*$"
)

Dimension = tuple[tuple[str, int], ...]  # sorted (base, exponent) pairs: m/s -> (("L", 1), ("T", -1))


@dataclass(frozen=True)
class Unit:
    """A unit read from an answer: its dimension and its exact factor to the SI (or base) unit."""

    dimension: Dimension
    factor: Fraction


def _unit(factor: Fraction | int | str, **dims: int) -> Unit:
    return Unit(tuple(sorted(dims.items())), Fraction(factor))


_LENGTH, _TIME, _MASS = {"L": 1}, {"T": 1}, {"M": 1}
_SI_BASES = {  # symbol -> unit; each takes an SI prefix (km, ms, mg, kN, MeV, mL)
    "m": _unit(1, **_LENGTH), "s": _unit(1, **_TIME), "g": _unit("1/1000", **_MASS), "N": _unit(1, M=1, L=1, T=-2),
    "J": _unit(1, M=1, L=2, T=-2), "W": _unit(1, M=1, L=2, T=-3), "Pa": _unit(1, M=1, L=-1, T=-2),
    "Hz": _unit(1, T=-1), "eV": _unit("1.602176634e-19", M=1, L=2, T=-2), "A": _unit(1, I=1), "mol": _unit(1, N=1),
    "V": _unit(1, M=1, L=2, T=-3, I=-1), "C": _unit(1, I=1, T=1), "L": _unit("1/1000", L=3), "l": _unit("1/1000", L=3),
    "K": _unit(1, Θ=1), "T": _unit(1, M=1, T=-2, I=-1), "cal": _unit("4.184", M=1, L=2, T=-2),
}
_PREFIXES = {"k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "c": Fraction(1, 10**2),
             "m": Fraction(1, 10**3), "u": Fraction(1, 10**6), "μ": Fraction(1, 10**6), "n": Fraction(1, 10**9),
             "p": Fraction(1, 10**12), "d": Fraction(1, 10)}
_INCH = Fraction("0.0254")
_SYMBOLS = {  # case-sensitive symbols that are not prefix + SI base
    "min": _unit(60, **_TIME), "h": _unit(3600, **_TIME), "hr": _unit(3600, **_TIME), "atm": _unit(101325, M=1, L=-1, T=-2),
    "bar": _unit(10**5, M=1, L=-1, T=-2), "erg": _unit("1e-7", M=1, L=2, T=-2), "AU": _unit(149597870700, **_LENGTH),
    "ly": _unit(9460730472580800, **_LENGTH), "in": _unit(_INCH, **_LENGTH), "ft": _unit(12 * _INCH, **_LENGTH),
    "yd": _unit(36 * _INCH, **_LENGTH), "mi": _unit(63360 * _INCH, **_LENGTH), "mph": _unit(63360 * _INCH / 3600, L=1, T=-1),
    "kph": _unit(Fraction(1000, 3600), L=1, T=-1), "kmh": _unit(Fraction(1000, 3600), L=1, T=-1),
    "lb": _unit("0.45359237", **_MASS), "lbs": _unit("0.45359237", **_MASS), "oz": _unit(Fraction("0.45359237") / 16, **_MASS),
}
_WORDS = {  # lower-case names, singular: plurals are read by dropping an "s"
    "meter": "m", "metre": "m", "kilometer": "km", "kilometre": "km", "centimeter": "cm", "centimetre": "cm",
    "millimeter": "mm", "millimetre": "mm", "inch": "in", "foot": "ft", "feet": "ft", "yard": "yd",
    "mile": "mi", "second": "s", "sec": "s", "minute": "min", "hour": "h", "gram": "g", "kilogram": "kg",
    "milligram": "mg", "liter": "L", "litre": "L", "milliliter": "mL", "millilitre": "mL", "ounce": "oz",
    "newton": "N", "joule": "J", "watt": "W", "pascal": "Pa", "hertz": "Hz", "volt": "V", "kelvin": "K",
    "calorie": "cal", "kilocalorie": "kcal", "min": "min", "hr": "h",
}
_OTHER_WORDS = {
    "day": _unit(86400, **_TIME), "yr": _unit(1, Y=1), "week": _unit(604800, **_TIME), "year": _unit(1, Y=1), "month": _unit("1/12", Y=1),
    "decade": _unit(10, Y=1), "century": _unit(100, Y=1), "gallon": _unit("0.003785411784", L=3),
    "dollar": _unit(1, USD=1), "cent": _unit("1/100", USD=1), "euro": _unit(1, EUR=1),
}
_TOKEN_RE = re.compile(r"([A-Za-zμ]+)\s*(?:\^\s*\{?\s*([+-]?\d)\s*\}?)?|(/|\*)")
_LATEX_NOISE_RE = re.compile(r"\\(?:text|mathrm|mbox|rm|textrm|operatorname)\b|\\[,;:!~ ]|[{}~]|\\quad")


def unit_tail(s: str) -> re.Match[str] | None:
    """The trailing unit of ``s`` (``\\text{ cm}^2``, ``\\mathrm{~m}``, ``square feet``), or None."""
    if not _UNIT_HINT_RE.search(s):
        return None  # no \text-like command and no spaced word: no unit (the hot path)
    s = s.replace("~", " ")  # \mathrm{~m}: a spacing tie
    return UNIT_TAIL_RE.search(s) or SI_UNIT_TAIL_RE.search(s)


def unit_power(tail: str) -> int:
    """1, 2 or 3: ``cm^2`` / ``square feet`` -> 2, ``cubic units`` -> 3."""
    tail = tail.lower()
    return 3 if re.search(r"\^\s*\{?\s*3|cubic", tail) else 2 if re.search(r"\^\s*\{?\s*2|square|sq\b", tail) else 1


def unit_letters(tail: str) -> str:
    """The letters of a unit tail, lower case (``\\mathrm{~m}`` -> ``m``), for units glued to a number."""
    return re.sub(r"\\[a-z]+|[^a-z]", "", tail.lower())


def _symbol(name: str) -> Unit | None:
    """A unit symbol, case-sensitive: ``km``, ``MeV``, ``mL``, ``min``, ``mph``."""
    if name in _SYMBOLS or name in _SI_BASES:
        return _SYMBOLS.get(name) or _SI_BASES[name]
    prefix, base = name[:1], name[1:]
    if prefix in _PREFIXES and base in _SI_BASES:
        unit = _SI_BASES[base]
        return Unit(unit.dimension, unit.factor * _PREFIXES[prefix])
    return None


def _word(word: str) -> Unit | None:
    """A unit word or symbol: ``kilometers`` / ``km`` / ``Hours``; None for other words."""
    lower = word.lower()
    for name in (lower, lower.removesuffix("s"), lower.removesuffix("es")):
        if name in _WORDS:
            return _symbol(_WORDS[name])
        if name in _OTHER_WORDS:
            return _OTHER_WORDS[name]
    return _symbol(word) or (_symbol(lower) if lower != word else None)


def _power(unit: Unit, power: int) -> Unit:
    return Unit(tuple((base, exp * power) for base, exp in unit.dimension), unit.factor**power)


def _times(a: Unit, b: Unit) -> Unit:
    dims = dict(a.dimension)
    for base, exp in b.dimension:
        dims[base] = dims.get(base, 0) + exp
    return Unit(tuple(sorted((k, v) for k, v in dims.items() if v)), a.factor * b.factor)


def read_unit(tail: str) -> Unit | None:
    """The unit of a tail found by ``unit_tail``; None when any word of it is not a known unit."""
    text = _LATEX_NOISE_RE.sub(" ", tail.replace("\\cdot", "*").replace("\\mu", "μ"))
    result, sign, pending = Unit((), Fraction(1)), 1, 1  # pending: "square"/"cubic" before the next word
    for match in _TOKEN_RE.finditer(text):
        word, exponent, operator = match.groups()
        if operator or word.lower() == "per":
            sign = -1 if operator != "*" else sign
            continue
        if word.lower() in ("sq", "square", "cubic"):
            pending = 3 if word.lower() == "cubic" else 2
            continue
        unit = _word(word)
        if unit is None:
            return None
        result = _times(result, _power(unit, sign * pending * int(exponent or 1)))
        pending = 1
    return result if result.dimension else None


def units_agree(pred: str, gold: str) -> tuple[bool, tuple[Fraction, Fraction] | None] | None:
    """When both answers end in a known unit: (same dimension, the two factors when they differ), else None.

    ``(True, None)``: the same unit, strip both; ``(True, (p, g))``: compare ``value_p * p`` with
    ``value_g * g``; ``(False, None)``: other dimensions, or the same dimension at another size for answers
    that are not plain numbers (the caller decides that).
    """
    pred_tail, gold_tail = unit_tail(pred), unit_tail(gold)
    if pred_tail is None or gold_tail is None:
        return None
    pred_unit, gold_unit = read_unit(pred_tail.group(0)), read_unit(gold_tail.group(0))
    if pred_unit is None or gold_unit is None:
        return None
    if pred_unit.dimension != gold_unit.dimension:
        return False, None
    factors = (pred_unit.factor, gold_unit.factor)
    return True, (None if factors[0] == factors[1] else factors)


def glued_as_other(s: str, other: str) -> str:
    """``4m`` -> ``4`` when the other answer wrote the unit ``\\mathrm{~m}``: the other side agrees it is a unit."""
    tail = unit_tail(other.strip().strip("$"))
    letters = unit_letters(tail.group(0)) if tail else ""
    if not letters.isalpha() or len(letters) > 6:
        return s
    return re.sub(r"(?<=[\d}])\s*" + letters + r"(?:\^\{?[23]\}?)?$", "", s)
