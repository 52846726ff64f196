"""Fast, exact answer comparison without any symbolic work.

``fast_verdict(pred, gold)`` returns True / False when the pair can be decided by string
normalisation and exact rational arithmetic (``fractions.Fraction``), and None when it needs the
symbolic grader. It covers the bulk of math answers: integers (``1,234``, ``+5``, ``5.0``,
``025``), decimals, fractions in every spelling (``-2/3``, ``\\frac{-2}{3}``, ``\\dfrac``,
``\\tfrac``, ``\\frac34``, mixed numbers ``2\\frac{1}{2}``), repeating decimals
(``0.\\overline{3}``), scientific notation (``4.4\\times 10^7``, ``4.4e7``), percent, degrees,
units, ``x = 3``, multiple-choice letters, and comma lists / tuples / sets / intervals of those.

Every comparison is exact (``123456788`` never equals ``123456789``) except under the decimal
policy of ``decimals``: a plain decimal with enough significant digits equals a non-terminating
exact value rounded at its precision (``0.333`` = ``1/3``; ``0.33`` and ``0.334`` are not).
Before comparing, ``clean`` applies the answer-form rewrites of ``forms`` and ``prepare`` the pair
rewrites of ``pairs`` (labels, function arguments, glued units). Inputs are bounded (``max_chars``)
before any regex or integer conversion.

Policies (one direction each, gold first):

- percent: gold ``25\\%`` accepts ``25\\%``, ``25`` (sign left out) and ``0.25`` (its value);
  gold ``0.25`` / ``\\frac14`` accepts ``25\\%`` (same value); a ``%`` added to a gold written as a
  plain numeral is read as a unit (gold ``25`` accepts ``25\\%``), but never for a fraction gold
  (gold ``\\frac14`` rejects ``0.25\\%``).
- degrees: the sign is optional on either side (``90^\\circ`` == ``90`` == ``90°`` ==
  ``90^\\circ\\text{C}``); degrees never equal radians (``90^\\circ`` is not ``\\frac{\\pi}{2}``),
  since MATH-style questions fix the unit (inside a trigonometric function they are radians: ``forms``).
- units: stripped after a number (``5 \\text{ cm}``, ``2.5 \\mathrm{~m\\,s^{-1}}``), never after a
  variable; when both sides give a unit, its powers must agree (``cm^2`` is not ``cm^3``).
- ratios ``a:b(:c...)`` of numbers: equal to a proportional ratio (``1:2`` == ``2:4``); a two-part
  ratio also equals its quotient (``1:2`` == ``\\frac12``); longer ratios equal no single number
  (``1:2:3`` is not ``\\frac16``). Clock times (``3:30``, ``10:05 p.m.``, ``20:34:00``) only equal the
  same time.
- base subscripts: gold ``1011_2`` accepts ``1011_{2}``, ``(1011)_2`` and the bare digits ``1011``,
  never another base (``1011_3``) nor the decimal value (``11``): the question asks for base 2.
- a single number in parentheses is the number (``\\textbf{(051)}`` == ``51``).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from deepscaler_grpo.reward.decimals import PLAIN_DECIMAL_RE, rounds_to, terminates
from deepscaler_grpo.reward.forms import LIST_AND_RE, TEXT_CMD, TEXT_RE, normalize_forms, split_top_level
from deepscaler_grpo.reward.numbers import NUM_RE, Number, parse_value, strip_outer_braces
from deepscaler_grpo.reward.pairs import align_pair

MAX_FAST_CHARS = 2000

# Commands that only change spacing or size: dropped.
_NOISE_RE = re.compile(
    r"\\(?:left|right|big|Big|bigg|Bigg|bigl|bigr|Bigl|Bigr|displaystyle|textstyle|limits)(?![A-Za-z])"
    r"|(?<!\\)\\[,!;: ]|\\q?quad(?![A-Za-z])|~"
)
_FRAC_ALIAS_RE = re.compile(r"\\[dtc]frac(?![A-Za-z])")
_BINOM_ALIAS_RE = re.compile(r"\\[dt]binom(?![A-Za-z])")
_DEGREE_RE = re.compile(r"\{\}\^\{\\circ\}|\^\s*\{?\s*\\circ\s*\}?|°|\\circ(?![A-Za-z])|\\degree(?![A-Za-z])")
_PERCENT_RE = re.compile(r"\\?%\s*$|\\percent(?![A-Za-z])")
_PERCENT_WORD_RE = re.compile(r"(?<=[\d}])\s*(?:\\text\{\s*percent\s*\}|\s(?:percent|per\s?cent))\.?\s*$")
_TEMPERATURE_RE = re.compile(
    r"(\^\s*\{?\s*\\circ\s*\}?|°)\s*(?:\\(?:text|mathrm|textrm)\s*\{\s*[CFK]\s*\}|[CFK](?![A-Za-z]))\s*$"
)
_PRIME_RE = re.compile(r"\^\s*\{\s*((?:\\prime\s*)+)\}|\^\s*\\prime(?![A-Za-z])")
_NUMERIC_PRIME_RE = re.compile(r"(?<=[\d.])\s*'{1,2}$")  # arcminutes/seconds, feet/inches
_SCRIPT_BRACES_RE = re.compile(r"([_^])\{(\w)\}")
_PAREN_NUMBER_RE = re.compile(r"\(([^(),\[\]{}]*)\)")
_BASE_RE = re.compile(r"\(?([0-9A-Za-z]+)\)?_\{?\(?(\d{1,2})\)?\}?|([0-9A-Fa-f]+)")
_ATOM_RE = re.compile(r"\\?[A-Za-z]+(?:_\w)?|[A-Za-z][A-Za-z' -]*")  # a name: E_1, \\alpha, Friday
_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*(?:\\text\{\s*)?([ap])\.?\s*m\.?\s*\}?)?", re.IGNORECASE)
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
_UNIT_TAIL_RE = re.compile(
    r"(?<=[\d}.])\s*(?:" + TEXT_CMD + r"\{\s*(?:" + _UNIT_WORDS + r")\.?\s*\}|\s(?:" + _SPACED_UNIT_WORDS + r")\.?)"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?$",
    re.IGNORECASE,
)
_UNIT_HINT_RE = re.compile(r"\\(?:text|mathrm|mbox|rm)|\s[A-Za-z]")
_SI = r"(?:[kMGmunμc]?(?:m|s|g|N|J|W|Pa|K|mol|A|V|Hz|eV|C|L|T|rad)|min|h|atm|bar|erg|ly|AU|pc)"
_SI_POWER = r"(?:\s*\^\s*\{?\s*-?\s*\d\s*\}?)?"
_SI_UNIT_TAIL_RE = re.compile(  # physics units in \text{}/\mathrm{} after a number: "\mathrm{~m s^{-1}}", "\text{kg}"
    r"(?<=[\d}.])\s*\\(?:text|mathrm|rm)\s*\{\s*" + _SI + _SI_POWER + r"(?:\s*(?:/|\s|\\cdot)\s*" + _SI + _SI_POWER
    + r")*\s*\}" + _SI_POWER + r"(?:\s*(?:/|\\cdot)?\s*\\(?:text|mathrm)\s*\{\s*" + _SI + r"\s*\}" + _SI_POWER + r")*$"
)
_APPROX_PREFIX_RE = re.compile(r"^(?:\\approx|\\sim|\\simeq|≈)\s*")
_APPROX_RE = re.compile(r"\\approx(?![A-Za-z])|≈")
_DECIMAL_RE = re.compile(r"[+-]?\d*\.\d+")
_ASSIGN_RE = re.compile(  # x =, E_1 =, a_{\min} =, f(x) =, T(3) =
    r"^\s*(?:\\[A-Za-z]+|[A-Za-z]{1,3})(?:_(?:\{\\?[A-Za-z0-9]+\}|[A-Za-z0-9]))?"
    r"(?:\s*\(\s*[A-Za-z0-9]{1,6}\s*\))?\s*=(?!=)"
)
_GOLD_CHOICE_RE = re.compile(r"(?:\\text\w*\s*\{)?\s*\(?\s*[A-E]\s*\)?\s*\}?")
_CHOICE_RE = re.compile(r"^\(?\s*([A-E])\s*\)?(?:$|[\s.:)])")

_UNICODE = {"\u2212": "-", "\u2013": "-", "\u00d7": "\\times ", "\u00b7": "\\cdot ", "\u03c0": "\\pi ",
            "\u221e": "\\infty ", "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ", "\u2205": "\\emptyset ",
            "\u00bd": "\\frac{1}{2}", "\u00bc": "\\frac{1}{4}", "\u00be": "\\frac{3}{4}", "\\varnothing": "\\emptyset",
            "\\lbrace": "\\{", "\\rbrace": "\\}", "\\leqslant": "\\le", "\\geqslant": "\\ge",
            "\u2228": "\\lor ", "\u222a": "\\cup ", "\u2208": "\\in ", "\u2229": "\\cap "}
_UNICODE_SQRT_RE = re.compile(r"\u221a\s*(\([^()]*\)|\{[^{}]*\}|[\w.]+)")
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
_EMPTY_WORDS = frozenset({"no solution", "no solutions", "no real solution", "no real solutions", "none",
                          "no such number", "no such numbers", "the empty set", "empty set", "\\{\\}", "{}"})
_BRACKETS = {"(": ")", "[": "]", "\\{": "\\}", "\\lbrace": "\\rbrace", "\\langle": "\\rangle"}


def clean(s: str) -> str:
    """Light normalisation kept for the symbolic grader too: spacing, ``\\dfrac``, units, ``\\$``."""
    s = s.replace("\\$", "").strip().strip("$").strip()
    if not s.isascii() or "\\var" in s or "brace" in s or "slant" in s:
        s = _UNICODE_SQRT_RE.sub(lambda m: "\\sqrt{" + m.group(1).strip("(){}") + "}", s)
        for old, new in _UNICODE.items():
            s = s.replace(old, new)
    word = TEXT_RE.sub(r"\1", s).strip().lower()
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if word.rstrip(".") in _EMPTY_WORDS:
        return "\\emptyset"
    s = s.replace("\\textcirc", "^\\circ").replace("\\textdegree", "^\\circ")
    s = _NOISE_RE.sub(" ", s)
    s = _FRAC_ALIAS_RE.sub(r"\\frac", s)
    s = _BINOM_ALIAS_RE.sub(r"\\binom", s)
    s = re.sub(r"(?<=\d)\{,\}(?=\d{3}(?!\d))", "", s)  # 2{,}340: always a thousands separator
    s = s.replace("{,}", ",").replace("\\dots", "\\ldots").replace("\\cdots", "\\ldots")
    s = normalize_forms(s)
    s = re.sub(r"\\sqrt\s*(\d)", r"\\sqrt{\1}", s)
    s = _APPROX_PREFIX_RE.sub("", s)
    s = exact_side(s, _APPROX_RE)
    s = _PRIME_RE.sub(lambda m: "'" * max(1, m.group(0).count("\\prime")), s)
    s = _TEMPERATURE_RE.sub(r"\1", s)
    s = _PERCENT_WORD_RE.sub("\\%", s)
    s = _UNIT_TAIL_RE.sub("", s).strip()
    s = _SI_UNIT_TAIL_RE.sub("", s).strip() if "{" in s else s
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].strip()
    return strip_outer_braces(s)


def exact_side(s: str, separator: re.Pattern[str]) -> str:
    """``\\frac{\\sqrt3}{2} \\approx 0.866`` -> the exact side; the decimal only when it is all there is."""
    sides = [side.strip() for side in separator.split(s)]
    if len(sides) != 2 or not all(sides):
        return s
    first, last = sides
    return last if _DECIMAL_RE.fullmatch(first) and not _DECIMAL_RE.fullmatch(last) else first


def strip_assignment(s: str) -> str:
    """``x = 3`` -> ``3``, ``f(x)=x^2`` -> ``x^2``, ``0.56 = 56\\%`` -> ``56\\%`` (the last side)."""
    if "=" not in s or any(op in s for op in ("\\le", "\\ge", "<", ">", "\\ne", ",", ";")):
        return s
    lhs, rhs = s.split("=", 1)[0], s.rsplit("=", 1)[1]
    numeric_lhs = bool(re.search(r"\d", lhs)) and not re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", lhs))
    if numeric_lhs and s.count("=") == 1 and _DECIMAL_RE.fullmatch(rhs.strip()) and not NUM_RE.fullmatch(lhs.strip()):
        return lhs.strip()  # "\frac{\sqrt3}{2} = 0.866": the decimal is an approximation of the exact lhs
    if _ASSIGN_RE.match(s) or numeric_lhs:
        return rhs.strip()
    return s


def _assigned_name(s: str) -> str | None:
    match = _ASSIGN_RE.match(s) if "," not in s and ";" not in s else None
    return re.sub(r"\s+", "", match.group(0)[:-1]) if match else None


def _assigned_names_differ(pred: str, gold: str) -> bool:
    """``y = 3`` against ``x = 3``: both assign, to different names."""
    pred_name, gold_name = _assigned_name(pred), _assigned_name(gold)
    return pred_name is not None and gold_name is not None and pred_name != gold_name


def numeric_equation_verdict(pred: str, gold: str) -> bool | None:
    """``0.56 = 56\\%`` against ``0.57 = 56\\%``: both sides of two numeric equations must agree."""
    if pred.count("=") != 1 or gold.count("=") != 1:
        return None
    pred_sides = [parse_number(side.strip()) for side in pred.split("=")]
    gold_sides = [parse_number(side.strip()) for side in gold.split("=")]
    if any(side is None for side in pred_sides + gold_sides):
        return None
    return all(numbers_equal(p, g) for p, g in zip(pred_sides, gold_sides))  # type: ignore[arg-type]


def text_key(s: str) -> str:
    """Comparison key for exact string equality: no spacing, ``\\text{}`` unwrapped, words lowercased."""
    s = TEXT_RE.sub(r"\1", s)
    s = _SCRIPT_BRACES_RE.sub(r"\1\2", re.sub(r"\s+", "", s))  # E_{1} -> E_1
    if len(s) > 1 and re.fullmatch(r"[A-Za-z'\-]+", s):
        s = s.lower()
    return s


def choice_letter(s: str) -> str | None:
    """Multiple-choice letter in ``C``, ``(C)``, ``\\text{(C)}``, ``\\textbf{(C) } 12``; else None."""
    s = TEXT_RE.sub(r"\1", s).strip()
    s = s.replace("\\mathrm", "").strip("{} ")
    match = _CHOICE_RE.match(s)
    return match.group(1) if match else None


def parse_number(s: str, max_chars: int = MAX_FAST_CHARS) -> Number | None:
    """Exact value of a plain numeric answer (after ``clean``), or None when it is not one."""
    if len(s) > max_chars:
        return None
    s = strip_assignment(s)
    percent = bool(_PERCENT_RE.search(s))
    s = _PERCENT_RE.sub("", s)
    s = _DEGREE_RE.sub("", s)
    s = strip_outer_braces(re.sub(r"\s+", "", TEXT_RE.sub(r"\1", s)))
    s = _NUMERIC_PRIME_RE.sub("", s)
    if _PAREN_NUMBER_RE.fullmatch(s):  # (051): a lone number in parentheses
        s = s[1:-1]
    s = s.removeprefix("+")
    s = strip_outer_braces(s)
    if not s or len(s) > max_chars:
        return None
    value = parse_value(s)
    return None if value is None else Number(value, percent, NUM_RE.fullmatch(s) is not None)


def numbers_equal(pred: Number, gold: Number) -> bool:
    """Exact equality with the one-directional percent policy of the module doc."""
    if pred.percent == gold.percent or isinstance(pred.value, float) or isinstance(gold.value, float):
        return pred.value == gold.value
    if gold.percent:  # gold 25%: 25 (sign left out) or 0.25 (the value)
        return pred.value in (gold.value, gold.value / 100)
    # pred 25%: the value 0.25, or a unit on a gold written as a plain numeral (gold 25)
    return pred.value / 100 == gold.value or (gold.plain and pred.value == gold.value)


def rounded_decimal_equal(pred: str, gold: str, pred_num: Number, gold_num: Number) -> bool:
    """The decimal policy (``decimals``): one side a plain decimal, the other an exact non-terminating value.

    A percent decimal is compared in percent: ``33.3\\%`` is ``\\frac13`` rounded (both sides in percent: exact).
    """
    if pred_num.percent and gold_num.percent or isinstance(pred_num.value, float) or isinstance(gold_num.value, float):
        return False
    sides = [(_PERCENT_RE.sub("", strip_assignment(text)).strip().lstrip("+"), num) for text, num in
             ((pred, pred_num), (gold, gold_num))]
    for (decimal, dec_num), (other, exact_num) in (sides, sides[::-1]):
        exact = exact_num.value * 100 if dec_num.percent else exact_num.value
        if PLAIN_DECIMAL_RE.fullmatch(decimal) and not PLAIN_DECIMAL_RE.fullmatch(other) and not terminates(exact):
            return rounds_to(exact, decimal)
    return False


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


def _elements_equal(pred: Element, gold: Element) -> bool:
    """Exact equality, or the decimal policy (``0.333`` for ``\\frac13`` inside a list too)."""
    return numbers_equal(pred[1], gold[1]) or rounded_decimal_equal(pred[0], gold[0], pred[1], gold[1])


def _same_multiset(pred: list[Element], gold: list[Element]) -> bool:
    remaining = list(gold)
    for value in pred:
        match = next((i for i, g in enumerate(remaining) if _elements_equal(value, g)), None)
        if match is None:
            return False
        remaining.pop(match)
    return not remaining


def list_verdict(pred: str, gold: str) -> bool | None:
    """Decide comma lists, tuples, sets and intervals whose elements are all plain numbers."""
    p_open, p_inner, p_close = bracketed(pred)
    g_open, g_inner, g_close = bracketed(gold)
    p_items = split_top_level(LIST_AND_RE.sub(",", p_inner))
    g_items = split_top_level(LIST_AND_RE.sub(",", g_inner))
    if len(g_items) < 2 and not g_open:
        return None
    sets = {"", "\\{", "\\lbrace"}
    g_nums = _element_numbers(g_items)
    p_nums = _element_numbers(p_items) if g_nums is not None else None  # either None: the same fallback
    if p_nums is None or g_nums is None:
        if p_open in sets and g_open in sets and all(_ATOM_RE.fullmatch(text_key(i)) for i in p_items + g_items):
            return sorted(map(text_key, p_items)) == sorted(map(text_key, g_items))  # E_1, E_2 / Monday, Friday
        return None
    if p_open in sets and g_open in sets:  # bare lists and sets of solutions: unordered
        return _same_multiset(p_nums, g_nums)
    if not p_open or not g_open:
        return None  # tuple vs bare list: leave it to the symbolic grader
    if (p_open, p_close) != (g_open, g_close) or len(p_nums) != len(g_nums):
        return False
    return all(_elements_equal(p, g) for p, g in zip(p_nums, g_nums))


def unit_tail(s: str) -> tuple[str, int] | None:
    """(unit letters, power 1/2/3) of a trailing unit (``\\text{ cm}^2``, ``\\mathrm{~m}``, ``square feet``)."""
    if not _UNIT_HINT_RE.search(s):
        return None  # no \text-like command and no spaced word: no unit (the hot path)
    s = s.replace("~", " ")  # \mathrm{~m}: a spacing tie
    match = _UNIT_TAIL_RE.search(s) or _SI_UNIT_TAIL_RE.search(s)
    if match is None:
        return None
    tail = match.group(0).lower()
    power = 3 if re.search(r"\^\s*\{?\s*3|cubic", tail) else 2 if re.search(r"\^\s*\{?\s*2|square|sq\b", tail) else 1
    return re.sub(r"\\[a-z]+|[^a-z]", "", tail), power


def _glued_as_other(s: str, unit: tuple[str, int] | None) -> str:
    """``4m`` -> ``4`` when the other side wrote the unit ``\\mathrm{~m}``: the other side agrees it is a unit."""
    if unit is None or not unit[0].isalpha() or len(unit[0]) > 6:
        return s
    return re.sub(r"(?<=[\d}])\s*" + unit[0] + r"(?:\^\{?[23]\}?)?$", "", s)


def prepare(pred: str, gold: str, max_chars: int = MAX_FAST_CHARS) -> tuple[str, str] | bool:
    """The cleaned (pred, gold) pair both graders compare (``clean`` + ``pairs.align_pair``), or a verdict.

    Units are stripped, not compared, but both sides giving units of other powers disagree (cm^2 vs cm^3);
    a letter glued to a number is a unit only when the other side writes that unit (``4m`` vs ``4 \\mathrm{~m}``).
    """
    pred = pred[:max_chars + 1]
    units = (unit_tail(pred.strip().strip("$")), unit_tail(gold.strip().strip("$")))
    if None not in units and units[0][1] != units[1][1]:  # type: ignore[index]
        return False
    pred, gold = _glued_as_other(pred.strip(), units[1]), _glued_as_other(gold.strip(), units[0])
    gold_c = clean(gold)
    if _DECIMAL_RE.fullmatch(gold_c) and _APPROX_RE.search(pred):
        pred = _APPROX_RE.split(pred)[-1]  # a decimal gold is compared with the decimal side
    return align_pair(clean(pred), gold_c)  # equal text is caught first thing in ``decide``


def fast_verdict(pred: str, gold: str, max_chars: int = MAX_FAST_CHARS) -> bool | None:
    """True/False when decidable exactly without symbolic work, else None (see module doc)."""
    if len(gold) > max_chars:
        return None
    if len(pred) > max_chars:
        return False  # no gold answer is this long
    pair = prepare(pred, gold, max_chars)
    return pair if isinstance(pair, bool) else decide(*pair)


def decide(pred_c: str, gold_c: str) -> bool | None:
    """``fast_verdict`` on a prepared pair."""
    if text_key(pred_c) == text_key(gold_c):
        return True
    if _assigned_names_differ(pred_c, gold_c):
        return False
    sides = numeric_equation_verdict(pred_c, gold_c)
    if sides is not None:
        return sides
    if _GOLD_CHOICE_RE.fullmatch(gold_c):
        return choice_letter(pred_c) == choice_letter(gold_c)
    for decide in (base_verdict, ratio_verdict):
        verdict = decide(pred_c, gold_c)
        if verdict is not None:
            return verdict
    gold_num, pred_num = parse_number(gold_c), parse_number(pred_c)
    if gold_num is not None and pred_num is not None and (
        numbers_equal(pred_num, gold_num) or rounded_decimal_equal(pred_c, gold_c, pred_num, gold_num)
    ):
        return True
    listed = list_verdict(pred_c, gold_c)
    if listed is not None:
        return listed
    if gold_num is not None and pred_num is not None:
        return False
    return None
