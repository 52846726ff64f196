"""String rewrites of answer forms into the spelling the exact and symbolic graders compare.

Each rewrite is one class of answer, bounded regexes on text already cut to ``MAX_FAST_CHARS``:

- ordinals: ``12^{\\text{th}}``, ``12^{\\mathrm{th}}``, ``12th``, ``twelfth`` -> ``12``;
- fraction shorthands: ``\\frac12``, ``\\frac{a}b``, ``\\frac a2``, ``\\frac\\pi2`` -> braced;
- mixed numbers: ``1 \\frac12``, ``1 1/2`` -> ``1\\frac{1}{2}`` (a proper fraction after a whole number);
- functions without parentheses: ``\\cot t`` -> ``\\cot(t)`` (one letter or Greek letter argument);
- degrees inside trigonometric arguments: ``\\sin(90^\\circ - x)`` -> ``\\sin(\\frac{90\\pi}{180} - x)``;
- vectors: a one-column or one-row ``pmatrix``/``bmatrix`` is the tuple of its entries;
- ``\\ldots``: ``\\dots``, ``\\cdots``, ``...`` are one pattern marker;
- regions: one-variable inequalities, a lower and an upper bound joined by ``and``, their unions (``or``,
  ``\\text{ or }``, ``\\lor``, ``\\cup``),
  set-builder notation ``\\{x \\mid 1 < x < 3\\}`` / ``\\{x : ...\\}`` and ``x \\in [a, b)`` -> intervals
  (``x < 1 \\text{ or } x > 2`` -> ``(-\\infty, 1) \\cup (2, \\infty)``); bounds must be free of letters;
- solutions named by a tuple, ``(x, y) = (1, 2) \\text{ or } (2, 1)`` -> ``(1, 2), (2, 1)``;
- ``\\mathbb{R}`` is ``(-\\infty, \\infty)``; a trailing quantifier over a number set is dropped (``, k \\in
  \\mathbb{Z}`` on a general solution, ``\\text{ for all } n \\in \\mathbb{N}`` after a function);
- ``\\pm`` in a list item or tuple: two items (``(\\pm 1, 2)`` -> ``(+ 1, 2), (- 1, 2)``); an item with
  several ``\\pm`` is left alone (their signs may be tied).
"""

from __future__ import annotations

import re

TEXT_CMD = (
    r"\\(?:text|textbf|textit|textrm|texttt|textsf|mbox|mathrm|mathit|mathbf|mathsf|boldsymbol|textnormal|operatorname)\s*"
)
TEXT_RE = re.compile(TEXT_CMD + r"\{([^{}]*)\}")
LIST_AND_RE = re.compile(r"(?:,?\s*\\text\{\s*,?\s*(?:and|or)\s*\}\s*|,?\s+(?:and|or)\s+|,\s*\\text\{\s*and\s*\}\s*)")
_ORDINAL_WORDS = {w: str(i) for i, w in enumerate(
    ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
     "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
     "nineteenth", "twentieth"])}
_SUFFIX = r"(?:st|nd|rd|th)"
_TEXT_SUFFIX = r"(?:\\(?:text|mathrm|textrm)\s*\{\s*" + _SUFFIX + r"\s*\}|\\rm\s*" + _SUFFIX + ")"
_ORDINAL_RE = re.compile(  # the closing brace only with its opening one: "\text{12th}" keeps its own
    r"(?<=\d)\s*(?:\^\s*\{\s*(?:" + _TEXT_SUFFIX + "|" + _SUFFIX + r")\s*\}|\^\s*" + _TEXT_SUFFIX
    + "|" + _TEXT_SUFFIX + "|" + _SUFFIX + r")(?![A-Za-z])"
)
_FRAC_ARG = r"(\\[A-Za-z]+|[A-Za-z0-9])"
_FRAC_SHORT_RES = (
    (re.compile(r"\\frac\s*" + _FRAC_ARG + r"\s*" + _FRAC_ARG), r"\\frac{\1}{\2}"),
    (re.compile(r"\\frac\s*(\{[^{}]*\})\s*" + _FRAC_ARG), r"\\frac\1{\2}"),
    (re.compile(r"\\frac\s*" + _FRAC_ARG + r"\s*\{"), r"\\frac{\1}{"),
)
_MIXED_RE = re.compile(r"^([+-]?\d+)\s+(?:\\frac\{(\d+)\}\{(\d+)\}|(\d+)/(\d+))$")
_FUNCTIONS = r"sin|cos|tan|cot|sec|csc|arcsin|arccos|arctan|sinh|cosh|tanh|ln|log|exp"
_GREEK = r"\\(?:alpha|beta|gamma|theta|phi|varphi|psi|omega|tau|mu|lambda|pi)"
_BARE_ARG_RE = re.compile(  # "\sin x^2" is sin(x^2): an argument followed by ^ or _ is left alone
    r"\\(" + _FUNCTIONS + r")(?![A-Za-z])\s*(\^\s*\{?\s*\d\s*\}?)?(?:\s+|(?<=\d)|(?<=\})|(?=\\))"
    r"([A-Za-z]|" + _GREEK + r")(?![A-Za-z^_{])"
)
_TRIG_RE = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)(?![A-Za-z])")
_TRIG_DEGREE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)")
_VECTOR_RE = re.compile(r"^\\begin\{([pb])matrix\}(.*)\\end\{\1matrix\}$", re.DOTALL)
_ARRAY_OPEN_RE = re.compile(r"[(\[]\s*\\begin\{array\}\s*\{[^{}]*\}")
_ARRAY_CLOSE_RE = re.compile(r"\\end\{array\}\s*[)\]]")
_DOTS_RE = re.compile(r"\\(?:dots[cbm]?|cdots|ldots)(?![A-Za-z])|\.\.\.|\\cdot\s*\\cdot\s*\\cdot")


def split_top_level(s: str) -> list[str]:
    """Split on commas/semicolons outside (), [], {}."""
    parts, depth, current = [], 0, []
    i = 0
    while i < len(s):
        char = s[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char in ",;" and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current).strip())
    return parts


def ordinal(s: str) -> str:
    """``12^{\\text{th}}`` / ``12th`` -> ``12``; ``twelfth`` -> ``12``; anything else unchanged."""
    word = _ORDINAL_WORDS.get(TEXT_RE.sub(r"\1", s).strip().lower())
    if word is not None:
        return word
    return _ORDINAL_RE.sub("", s) if re.search(r"(?:st|nd|rd|th)", s) else s


def braced_fractions(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac{a}b`` -> ``\\frac{a}{b}``, ``\\frac a2`` -> ``\\frac{a}{2}``."""
    if "\\frac" not in s:
        return s
    for regex, replacement in _FRAC_SHORT_RES:
        s = regex.sub(replacement, s)
    return s


def mixed_number(s: str) -> str:
    """``1 \\frac12`` / ``1 1/2`` -> ``1\\frac{1}{2}`` when the fraction is proper (else a product or a list)."""
    match = _MIXED_RE.fullmatch(s.strip())
    if match is None:
        return s
    whole, num, den = match.group(1), match.group(2) or match.group(4), match.group(3) or match.group(5)
    if int(num) >= int(den):
        return s
    return f"{whole}\\frac{{{num}}}{{{den}}}"


def function_arguments(s: str) -> str:
    """``\\cot t`` -> ``\\cot(t)``, ``\\sin^2 x`` -> ``\\sin^2(x)``: latex2sympy cannot read the bare form."""
    if "\\" not in s:
        return s
    return _BARE_ARG_RE.sub(lambda m: "\\" + m.group(1) + "".join((m.group(2) or "").split()) + f"({m.group(3)})", s)


def trig_degrees(s: str) -> str:
    """Degrees inside a trigonometric function are radians there: ``\\sin 30^\\circ`` = ``\\sin\\frac{\\pi}{6}``."""
    if not _TRIG_RE.search(s):
        return s
    return _TRIG_DEGREE_RE.sub(lambda m: f"\\frac{{{m.group(1)}\\pi}}{{180}}", s)


def vector_as_tuple(s: str) -> str:
    """A one-column or one-row ``pmatrix``/``bmatrix`` (or bracketed ``array``) -> ``(a, b, c)``.

    ``\\langle a, b\\rangle`` -> ``(a, b)``; other matrices unchanged (an ``array`` in brackets becomes a
    ``pmatrix``).
    """
    if "\\begin{array}" in s:
        s = _ARRAY_CLOSE_RE.sub(r"\\end{pmatrix}", _ARRAY_OPEN_RE.sub(r"\\begin{pmatrix}", s))
    if s.startswith("\\langle") and s.endswith("\\rangle"):
        return "(" + s[len("\\langle") : -len("\\rangle")].strip() + ")"
    match = _VECTOR_RE.fullmatch(s.strip())
    if match is None:
        return s
    body = match.group(2).strip().rstrip("\\").strip()
    rows = [row.strip() for row in body.split("\\\\")]
    if len(rows) > 1 and all("&" not in row for row in rows):
        entries = rows
    elif len(rows) == 1:
        entries = [cell.strip() for cell in rows[0].split("&")]
    else:
        return s
    return "(" + ", ".join(entries) + ")" if len(entries) > 1 and all(entries) else s


def dots(s: str) -> str:
    """Every spelling of an ellipsis -> ``\\ldots``."""
    return _DOTS_RE.sub("\\\\ldots ", s) if "." in s or "dots" in s or "\\cdot" in s else s


_REL_RE = re.compile(r"(<|>|\\leq?(?![A-Za-z])|\\geq?(?![A-Za-z])|\\lt(?![A-Za-z])|\\gt(?![A-Za-z]))")
_OR_RE = re.compile(
    r"\s*(?:\\text\{\s*or\s*\}|\\lor(?![A-Za-z])|\\vee(?![A-Za-z])|\\cup(?![A-Za-z])|(?<![A-Za-z])or(?![A-Za-z]))\s*"
)
_SET_BUILDER_RE = re.compile(
    r"\\\{\s*([A-Za-z])\s*(?:\\in\s*\\mathbb\s*\{?R\}?\s*)?(?:\\mid|\||:|\\colon)\s*(.+)\\\}", re.DOTALL
)
_IN_RE = re.compile(r"^[A-Za-z]\s*\\in\s*")
_POINT_RE = re.compile(r"([A-Za-z])\s*=\s*([^=<>]+)")
_LOST_IN_RE = re.compile(r"[A-Za-z]\s*(([(\[])[^()\[\]]*,[^()\[\]]*[)\]])")
_AND_RE = re.compile(
    r"\s*(?:\\text\{\s*and\s*\}|\\land(?![A-Za-z])|\\wedge(?![A-Za-z])|(?<![A-Za-z])and(?![A-Za-z]))\s*"
)
_INTERVAL_PARTS_RE = re.compile(r"([(\[])(.*), (.*)([)\]])")
_REALS_RE = re.compile(r"(?:[A-Za-z]\s*\\in\s*)?\\mathbb\s*\{?R\}?|\\text\{\s*all real numbers\s*\}")
_NAMES = r"(?<![\\A-Za-z])[A-Za-z](?:\s*,\s*[A-Za-z])*"
_NUMBER_SET = r"\s*\\in\s*\\mathbb\s*\{?[NZRQC]\}?(?:\^\s*\{?[+*]\}?|_\{?[+>0-9 ]+\}?)?"
_QUANTIFIER_RE = re.compile(  # ", k \in \mathbb{Z}", "(n \in \mathbb{N})", "\text{ for all } x", "\forall x \in \mathbb{R}"
    r"(?:,|\s)*(?:\\text\{\s*(?:for|where)\s+(?:(?:all|every|each|any|some|real|positive|nonnegative|non-negative|"
    r"natural|whole|rational|complex|integers?|numbers?|reals)\s*)*\}\s*(?:" + _NAMES + ")?(?:" + _NUMBER_SET + ")?"
    r"|\\forall\s*" + _NAMES + "(?:" + _NUMBER_SET + r")?|\(\s*" + _NAMES + _NUMBER_SET + r"\s*\)"
    r"|(?<![\\A-Za-z])[A-Za-z]" + _NUMBER_SET + r")\s*$"  # several names only in brackets: "\pi k, k \in" keeps its k
)
_TUPLE_LHS_RE = re.compile(r"^\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])+\s*\)\s*=\s*")
_INTERVAL_RE = re.compile(r"[(\[].*,.*[)\]]")
_BOUND_RE = re.compile(r"(?:\\(?:frac|sqrt|pi|infty|dfrac|cdot)|[-+*/^{}().\d\s])+")
_LESS = {"<": ")", "\\lt": ")", "\\le": "]", "\\leq": "]"}
_GREATER = {">": ")", "\\gt": ")", "\\ge": "]", "\\geq": "]"}
_OPENING = {")": "(", "]": "["}


def _bound(text: str) -> str | None:
    """An interval endpoint: numbers, fractions, radicals, pi, infinity; None when it has a variable."""
    text = text.strip()
    return text if text and _BOUND_RE.fullmatch(text) and text.count("{") == text.count("}") else None


def _interval(piece: str, variable: list[str]) -> str | None:
    """One inequality (``a < x \\le b``, ``x > a``, ``a > x``) or ``x \\in [a, b)`` as an interval, else None."""
    piece = piece.strip()
    if _IN_RE.match(piece) and _INTERVAL_RE.fullmatch(_IN_RE.sub("", piece)):
        variable.append(piece[0])
        return _IN_RE.sub("", piece)
    point = _POINT_RE.fullmatch(piece)
    if point and _bound(point.group(2)) is not None:  # "a = 1" beside inequalities: an isolated point
        variable.append(point.group(1))
        return "\\{" + point.group(2).strip() + "\\}"
    parts = _REL_RE.split(piece)
    if len(parts) not in (3, 5):
        return None
    terms, ops = [p.strip() for p in parts[0::2]], parts[1::2]
    names = [i for i, t in enumerate(terms) if re.fullmatch(r"[A-Za-z]", t)]
    if len(names) != 1 or any(_bound(t) is None for i, t in enumerate(terms) if i != names[0]):
        return None
    variable.append(terms[names[0]])
    if all(op in _GREATER for op in ops):  # b > x > a: read right to left
        terms, ops = terms[::-1], [{">": "<", "\\gt": "<", "\\ge": "\\le", "\\geq": "\\le"}[op] for op in ops[::-1]]
        names = [len(terms) - 1 - names[0]]
    if not all(op in _LESS for op in ops):
        return None
    low, high = ("-\\infty", ")"), ("\\infty", ")")
    if names[0] > 0:
        low = (terms[names[0] - 1], _LESS[ops[names[0] - 1]])
    if names[0] < len(terms) - 1:
        high = (terms[names[0] + 1], _LESS[ops[names[0]]])
    return f"{_OPENING[low[1]]}{low[0]}, {high[0]}{high[1]}"


def _conjunction(piece: str, variable: list[str]) -> str | None:
    """``x > 1 \\text{ and } x \\le 3`` -> ``(1, 3]``: one lower and one upper bound; a single inequality as is."""
    parts = [_interval(part, variable) for part in _AND_RE.split(piece)]
    if len(parts) == 1 or None in parts:
        return parts[0] if len(parts) == 1 else None
    bounds = [_INTERVAL_PARTS_RE.fullmatch(part) for part in parts]  # type: ignore[arg-type]
    lows = [b for b in bounds if b and b.group(2) != "-\\infty"]
    highs = [b for b in bounds if b and b.group(3) != "\\infty"]
    if len(parts) != 2 or len(lows) != 1 or len(highs) != 1 or lows[0] is highs[0]:
        return None  # two lower bounds would need comparing: leave it to the symbolic grader
    return f"{lows[0].group(1)}{lows[0].group(2)}, {highs[0].group(3)}{highs[0].group(4)}"


def region(s: str) -> str:
    """Inequalities, their unions and set-builder sets over one variable as intervals (module doc)."""
    if _REALS_RE.fullmatch(s.strip()):
        return "(-\\infty, \\infty)"
    lost_in = _LOST_IN_RE.fullmatch(s.strip())
    if lost_in and lost_in.group(2) + lost_in.group(1)[-1] != "()":
        return lost_in.group(1)  # "t(0,4]": "t \in" lost its \in (a call f(0, 4) has round brackets)
    if _IN_RE.match(s.strip()) and not _REL_RE.search(s) and _INTERVAL_RE.match(_IN_RE.sub("", s.strip())):
        return _IN_RE.sub("", s.strip())  # x \in (-\infty, 1) \cup (2, \infty)
    builder = _SET_BUILDER_RE.fullmatch(s.strip())
    inner = builder.group(2) if builder else s
    if not _REL_RE.search(inner) and not _IN_RE.match(inner.strip()):
        return s
    variable: list[str] = []
    intervals = [_conjunction(piece, variable) for piece in _OR_RE.split(inner)]
    if None in intervals or len(set(variable)) != 1 or (builder and variable[0] != builder.group(1)):
        return s
    return " \\cup ".join(intervals)  # type: ignore[arg-type]


def solution_list(s: str) -> str:
    """``(x, y) = (1, 2) \\text{ or } (2, 1)`` / ``x = 1 \\text{ or } x = 2`` -> comma lists."""
    s = _TUPLE_LHS_RE.sub("", s)
    return _OR_RE.sub(", ", s) if "or" in s and not _REL_RE.search(s) and "\\cup" not in s else s


def strip_quantifier(s: str) -> str:
    """``f(n)=n \\text{ for all } n\\in\\mathbb{N}`` -> ``f(n)=n``; ``2k\\pi, k \\in \\mathbb{Z}`` -> ``2k\\pi``.

    Only a trailing "for all" over a whole number set goes (``for all odd n`` or ``for x > 0`` stay: they
    change the answer), and only after an answer: ``x \\in \\mathbb{R}`` alone is the answer.
    """
    match = _QUANTIFIER_RE.search(s)
    return s[: match.start()].rstrip(" ,") if match and s[: match.start()].strip(" ,") else s


def expand_pm(s: str) -> str:
    """Each list item or tuple with one ``\\pm`` -> two items, ``+`` and ``-``; inside a set too (module doc)."""
    if "\\pm" not in s or "\\mp" in s:
        return s
    inner = s.strip()
    if inner.startswith("\\{") and inner.endswith("\\}") and split_top_level(inner[2:-2]) != [inner[2:-2]]:
        return "\\{" + expand_pm(inner[2:-2]) + "\\}"  # \{1 \pm \sqrt5, -2\}: the set of the items
    items = split_top_level(s)
    out = []
    for item in items:
        if item.count("\\pm") == 1:
            out += [item.replace("\\pm", "+"), item.replace("\\pm", "-")]
        else:
            out.append(item)
    return ", ".join(out)


_NEEDS_FORMS_RE = re.compile(r"[\\A-Za-z<>]|\.\.\.")


def normalize_forms(s: str) -> str:
    """All rewrites of this module, in an order where none undoes another."""
    if not _NEEDS_FORMS_RE.search(s):  # plain numerals ("1,234", "3/4", "1 1/2"): the hot path of training
        return mixed_number(s)
    s = braced_fractions(ordinal(s))
    s = mixed_number(s)
    s = function_arguments(trig_degrees(s))
    s = dots(vector_as_tuple(s))
    s = strip_quantifier(s) if "mathbb" in s or "forall" in s or "\\text" in s else s
    return expand_pm(solution_list(region(s)))
