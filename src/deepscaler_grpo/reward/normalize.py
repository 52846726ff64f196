"""Normalisation of one answer and exact values of numeric answers.

``clean(s)`` is the light normalisation both graders compare (spacing commands, ``\\dfrac``, unicode, number
words, units and ``\\approx`` sides, the answer-form rewrites of ``forms``); ``parse_number(s)`` the exact
value of a plain numeric answer (percent and degree signs read, labels dropped); ``numbers_equal`` and
``rounded_decimal_equal`` the two ways two such values are equal (exactly, or under the decimal policy of
``decimals`` with the ``digits`` of the request). ``strip_assignment`` / ``text_key`` / ``choice_letter`` read
``x = 3``, plain words and multiple-choice letters.

    parse_number(clean("\\dfrac{3}{4}")).value   # Fraction(3, 4)
"""

from __future__ import annotations

import re

from deepscaler_grpo.reward.decimals import read_decimal, rounds_to, terminates
from deepscaler_grpo.reward.forms import TEXT_RE, normalize_forms
from deepscaler_grpo.reward.numbers import NUM_RE, Number, parse_value, strip_outer_braces
from deepscaler_grpo.reward.units import SI_UNIT_TAIL_RE, UNIT_TAIL_RE

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
_TEXT_DEGREE_RE = re.compile(r"(?:\^\s*\{?\s*)?\\text(?:circ|degree)(?![A-Za-z])(?:\s*\})?")  # 30^\textcirc, 30\textdegree
_PRIME_RE = re.compile(r"\^\s*\{\s*((?:\\prime\s*)+)\}|\^\s*\\prime(?![A-Za-z])")
_NUMERIC_PRIME_RE = re.compile(r"(?<=[\d.])\s*'{1,2}$")  # arcminutes/seconds, feet/inches
_SCRIPT_BRACES_RE = re.compile(r"([_^])\{(\w)\}")
_SCRIPT_GROUP_RE = re.compile(r"([_^])\{(\w+)\}")
_NAME_RE = re.compile(  # x, AB, a_{n}, \theta; not the constants e, i, \pi, \infty
    r"\s*(?!(?:e|i|\\pi|\\infty)\s*$)(?:[A-Za-z]{1,3}|\\[A-Za-z]+)(?:_\{?\w+\}?)?\s*"
)
_PAREN_NUMBER_RE = re.compile(r"\(([^(),\[\]{}]*)\)")
APPROX_PREFIX_RE = re.compile(r"^(?:\\approx|\\sim|\\simeq|≈)\s*")
APPROX_RE = re.compile(r"\\approx(?![A-Za-z])|≈")
DECIMAL_RE = re.compile(r"[+-]?\d*\.\d+")
_ASSIGN_RE = re.compile(  # x =, E_1 =, a_{\min} =, f(x) =, T(3) =
    r"^\s*(?:\\[A-Za-z]+|[A-Za-z]{1,3})(?:_(?:\{\\?[A-Za-z0-9]+\}|[A-Za-z0-9]))?"
    r"(?:\s*\(\s*[A-Za-z0-9]{1,6}\s*\))?\s*=(?!=)"
)
GOLD_CHOICE_RE = re.compile(r"(?:\\text\w*\s*\{)?\s*\(?\s*[A-E]\s*\)?\s*\}?")
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
    s = _TEXT_DEGREE_RE.sub("^\\\\circ", s) if "\\text" in s else s
    s = _NOISE_RE.sub(" ", s)
    s = _FRAC_ALIAS_RE.sub(r"\\frac", s)
    s = _BINOM_ALIAS_RE.sub(r"\\binom", s)
    s = re.sub(r"(?<=\d)\{,\}(?=\d{3}(?!\d))", "", s)  # 2{,}340: always a thousands separator
    s = s.replace("{,}", ",").replace("\\dots", "\\ldots").replace("\\cdots", "\\ldots")
    s = normalize_forms(s)
    s = re.sub(r"\\sqrt\s*(\d)", r"\\sqrt{\1}", s)
    s = APPROX_PREFIX_RE.sub("", s)
    s = exact_side(s, APPROX_RE)
    s = _PRIME_RE.sub(lambda m: "'" * max(1, m.group(0).count("\\prime")), s)
    s = _TEMPERATURE_RE.sub(r"\1", s)
    s = _PERCENT_WORD_RE.sub("\\%", s)
    s = UNIT_TAIL_RE.sub("", s).strip()
    s = SI_UNIT_TAIL_RE.sub("", s).strip() if "{" in s else s
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].strip()
    return strip_outer_braces(s)


def exact_side(s: str, separator: re.Pattern[str]) -> str:
    """``\\frac{\\sqrt3}{2} \\approx 0.866`` -> the exact side; the decimal only when it is all there is."""
    sides = [side.strip() for side in separator.split(s)]
    if len(sides) != 2 or not all(sides):
        return s
    first, last = sides
    if _NAME_RE.fullmatch(first):
        return last  # "x \\approx 11": the name is no answer, its value is
    return last if DECIMAL_RE.fullmatch(first) and not DECIMAL_RE.fullmatch(last) else first


def strip_assignment(s: str) -> str:
    """``x = 3`` -> ``3``, ``f(x)=x^2`` -> ``x^2``, ``0.56 = 56\\%`` -> ``56\\%`` (the last side)."""
    if "=" not in s or any(op in s for op in ("\\le", "\\ge", "<", ">", "\\ne", ",", ";")):
        return s
    lhs, rhs = s.split("=", 1)[0], s.rsplit("=", 1)[1]
    numeric_lhs = bool(re.search(r"\d", lhs)) and not re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", lhs))
    if numeric_lhs and s.count("=") == 1 and DECIMAL_RE.fullmatch(rhs.strip()) and not NUM_RE.fullmatch(lhs.strip()):
        return lhs.strip()  # "\frac{\sqrt3}{2} = 0.866": the decimal is an approximation of the exact lhs
    if _ASSIGN_RE.match(s) or numeric_lhs:
        return rhs.strip()
    return s


def script_braces(name: str) -> str:
    """``y_{1}`` -> ``y_1``, ``a_{10}`` -> ``a_10``: one spelling of a subscripted name."""
    return _SCRIPT_GROUP_RE.sub(r"\1\2", name) if "{" in name else name


def _assigned_name(s: str) -> str | None:
    match = _ASSIGN_RE.match(s) if "," not in s and ";" not in s else None
    return script_braces(re.sub(r"\s+", "", match.group(0)[:-1])) if match else None


def assigned_names_differ(pred: str, gold: str) -> bool:
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


def rounded_decimal_equal(pred: str, gold: str, pred_num: Number, gold_num: Number, digits: int) -> bool:
    """The decimal policy (``decimals``, ``digits`` significant digits): one side a decimal (plain or scientific),
    the other an exact non-terminating value.

    A percent decimal is compared in percent: ``33.3\\%`` is ``\\frac13`` rounded (both sides in percent: exact).
    """
    if not digits or pred_num.percent and gold_num.percent or isinstance(pred_num.value, float) or isinstance(
        gold_num.value, float
    ):
        return False
    sides = [(re.sub(r"\s+", "", _PERCENT_RE.sub("", strip_assignment(text))).lstrip("+"), num) for text, num in
             ((pred, pred_num), (gold, gold_num))]
    for (decimal, dec_num), (other, exact_num) in (sides, sides[::-1]):
        exact = exact_num.value * 100 if dec_num.percent else exact_num.value
        if read_decimal(decimal) and not read_decimal(other) and not terminates(exact):
            return rounds_to(exact, decimal, digits)
    return False
