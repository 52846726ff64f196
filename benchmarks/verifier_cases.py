"""The labelled cases of ``verifier.py``: rewrites of the shared golds, and the hand-written independent pairs.

Rewrites (generated with a fixed seed, nothing committed): every gold answer in
../shared/data/deepscaler/test_*.json (plus a sample of train_math.json) is rewritten into
equivalent forms (\\dfrac vs /, decimals vs fractions, thousands separators, ``x =`` prefixes,
\\text units, percent/degree signs (and the same angle in radians), reordered lists/sets, \\left( \\right),
boxed vs answer tag, and the model-style classes of ``model_style_rewrites``: ``{,}`` separators,
``\\textbf{(051)}``, ratios ``a:b`` for fractions, percent values, base subscripts, thin spaces, ``y =``
prefixes on expressions, case of text answers, roots listed in words) and non-equivalent ones (off-by-one,
sign flips, swapped tuples, changed interval brackets, close-but-different decimals, dropped list
elements, changed digits, and ``near_misses``: reversed ratios, ``0.25\\%`` for ``\\frac14``, other
bases, decimal values of base numbers, another angle in radians, a dropped ``\\pm`` root, sqrt2/sqrt3).
Rounded decimals of exact non-terminating golds are labelled by the run's decimal policy
(``deepscaler_grpo.reward.decimals``): equivalent with enough significant digits, one unit off in
the last place wrong.

    cases = build_cases(load_golds(data_dir, 300, rng), rng, digits=0)
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from deepscaler_grpo.reward import VerifierPolicy, gold_strings
from deepscaler_grpo.reward.decimals import significant_digits, terminates

DATA_FILES = ["test_aime.json", "test_amc.json", "test_math.json", "test_minerva.json", "test_olympiad_bench.json"]
INT_RE = re.compile(r"-?\d+")
FRAC_RE = re.compile(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}")
DEC_RE = re.compile(r"-?\d+\.\d+")


@dataclass(frozen=True)
class Case:
    gold: object
    response: str
    label: bool
    kind: str  # the rewrite that produced it
    gold_class: str  # integer | fraction | decimal | other
    policy: VerifierPolicy | None = None  # the policy its label was written for (None: the run's)
    question: str | None = None  # the problem text, where the label depends on it (an order asked for)


def gold_class(gold: str) -> str:
    if INT_RE.fullmatch(gold):
        return "integer"
    if FRAC_RE.fullmatch(gold) or re.fullmatch(r"-?\d+/\d+", gold):
        return "fraction"
    if DEC_RE.fullmatch(gold):
        return "decimal"
    return "other"


def _frac_value(gold: str) -> Fraction | None:
    match = FRAC_RE.fullmatch(gold)
    if not match or int(match.group(3)) == 0:
        return None
    value = Fraction(int(match.group(2)), int(match.group(3)))
    return -value if match.group(1) else value


def _terminating_decimal(value: Fraction) -> str | None:
    if not terminates(value):
        return None
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    return f"{float(value):.{digits}f}" if digits else str(value.numerator)


def _split_list(gold: str) -> list[str] | None:
    parts, depth, cur = [], 0, ""
    for ch in gold:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts if len(parts) > 1 and all(parts) else None


def equivalent_rewrites(gold: str, rng: random.Random, digits: int) -> list[tuple[str, str]]:
    """(kind, rewritten answer) pairs that mean the same as ``gold``."""
    out = [("identity", gold), ("spaces", gold.replace(",", ", ").replace("=", " = "))]
    if INT_RE.fullmatch(gold):
        value = int(gold)
        out += [("trailing .0", f"{value}.0"), ("x= prefix", f"x = {value}")]
        out += [("text unit", f"{value} \\text{{ units}}")]
        out += [("leading +", f"+{value}")] if value > 0 else []
        out += [("thousands", f"{value:,}")] if abs(value) >= 1000 else []
        out += [("fraction form", f"\\frac{{{value * 2}}}{{2}}")]
        if value != 0 and abs(value) >= 10**5 and str(value).endswith("000"):
            stripped = str(abs(value)).rstrip("0")
            exponent = len(str(abs(value))) - len(stripped)
            out += [("sci notation", f"{'-' if value < 0 else ''}{stripped} \\times 10^{{{exponent}}}")]
    value = _frac_value(gold)
    if value is not None:
        out += [("dfrac", gold.replace("\\frac", "\\dfrac")), ("slash", f"{value.numerator}/{value.denominator}")]
        out += [("unreduced", f"\\frac{{{value.numerator * 3}}}{{{value.denominator * 3}}}")]
        out += [("sign inside", f"\\frac{{{value.numerator}}}{{{value.denominator}}}")]
        decimal = _terminating_decimal(value)
        out += [("decimal", decimal)] if decimal else []
    if DEC_RE.fullmatch(gold):
        frac = Fraction(gold)
        out += [("as fraction", f"\\frac{{{frac.numerator}}}{{{frac.denominator}}}"), ("trailing zero", gold + "0")]
    parts = _split_list(gold)
    if parts and not gold.startswith(("(", "[")):
        shuffled = parts[:]
        rng.shuffle(shuffled)
        out += [("reordered list", ", ".join(shuffled))]
    if gold.startswith("\\{") and parts is None:
        inner = _split_list(gold[2:-2]) if gold.endswith("\\}") else None
        if inner:
            out += [("reordered set", "\\{" + ", ".join(reversed(inner)) + "\\}")]
    if gold.startswith("(") and gold.endswith(")") and _split_list(gold[1:-1]):
        out += [("left right", "\\left(" + gold[1:-1] + "\\right)")]
    out += _symbolic_rewrites(gold)
    out += model_style_rewrites(gold, rng, digits)
    if gold.endswith("^\\circ"):
        out += [("no degree", gold[: -len("^\\circ")]), ("degree sign", gold[: -len("^\\circ")] + "°")]
    if gold.endswith("\\%"):
        out += [("no percent", gold[:-2].strip())]
    return out


BASE_GOLD_RE = re.compile(r"([0-9A-Z]+)_\{?(\d+)\}?")
DEGREE_TO_RADIANS = {30: "\\frac{\\pi}{6}", 45: "\\frac{\\pi}{4}", 60: "\\frac{\\pi}{3}", 90: "\\frac{\\pi}{2}",
                     120: "\\frac{2\\pi}{3}", 135: "\\frac{3\\pi}{4}", 150: "\\frac{5\\pi}{6}", 180: "\\pi"}


def model_style_rewrites(gold: str, rng: random.Random, digits: int) -> list[tuple[str, str]]:
    """Equivalent spellings seen in model outputs (the classes of the policy tests)."""
    out = []
    approx = irrational_approximation(gold)
    if approx:
        out += [("exact with approximation", f"{gold} \\approx {approx}")]
    out += [(kind, answer) for kind, answer, label in decimal_policy_rewrites(gold, digits) if label]
    if INT_RE.fullmatch(gold) and abs(int(gold)) >= 1000:
        out += [("{,} thousands", f"{int(gold):,}".replace(",", "{,}"))]
    if INT_RE.fullmatch(gold) and 0 <= int(gold) < 1000 and rng.random() < 0.1:  # AIME solutions' style
        out += [("aime textbf", f"\\textbf{{({int(gold):03d})}}")]
    value = _frac_value(gold)
    if value is not None and value > 0:
        out += [("ratio", f"{value.numerator}:{value.denominator}"),
                ("unreduced ratio", f"{2 * value.numerator}:{2 * value.denominator}")]
        percent = _terminating_decimal(value * 100)
        out += [("percent value", f"{percent}\\%")] if percent else []
    match = BASE_GOLD_RE.fullmatch(gold)
    if match:
        out += [("base braces", f"{match.group(1)}_{{{match.group(2)}}}"), ("base omitted", match.group(1))]
    if re.fullmatch(r"\\text\{[A-Za-z ]{2,}\}", gold):  # not choice letters: c may be a variable
        out += [("upper case text", gold[6:-1].upper()), ("lower case text", gold[6:-1].lower())]
    if gold.startswith("(") and gold.count(",") >= 1 and "\\cup" not in gold:
        out += [("thin spaces", gold.replace(",", ",\\,"))]
    plain_expression = "=" not in gold and not re.search(r"\\(?:text|in)", gold)
    if re.search(r"[a-z]", gold) and top_level_terms(gold) and plain_expression:
        out += [("y = prefix", f"y = {gold}")]
    parts = _split_list(gold)
    if parts and not gold.startswith(("(", "[", "\\{")) and len(parts) <= 4 and "$" not in gold and "\\!" not in gold:
        out += [("roots in words", "WORDS:The solutions are " + ", ".join(f"${p}$" for p in parts[:-1])
                 + f" and ${parts[-1]}$.")]
    match = re.fullmatch(r"(\d+)\^\\circ", gold)
    if match:
        out += [("degree word", f"{match.group(1)} degrees")]
        radians = DEGREE_TO_RADIANS.get(int(match.group(1)))
        out += [("the same angle in radians", radians)] if radians else []
    return out


def near_misses(gold: str) -> list[tuple[str, str]]:
    """Non-equivalent answers a loose verifier accepts (the classes of the policy tests)."""
    out = []
    value = _frac_value(gold)
    if value is not None and value > 0:
        if value != 1:
            out += [("reversed ratio", f"{value.denominator}:{value.numerator}")]
        out += [("three-part ratio", f"{value.numerator}:{value.denominator}:1")]
        decimal = _terminating_decimal(value)
        out += [("fraction as percent number", f"{decimal}\\%")] if decimal and value < 1 else []
    match = BASE_GOLD_RE.fullmatch(gold)
    if match and all(int(d, 36) < int(match.group(2)) for d in match.group(1)):
        out += [("other base", f"{match.group(1)}_{{{int(match.group(2)) + 1}}}"),
                ("decimal value of base number", str(int(match.group(1), int(match.group(2)))))]
    match = re.fullmatch(r"(\d+)\^\\circ", gold)
    if match and int(match.group(1)) in DEGREE_TO_RADIANS:
        keys = list(DEGREE_TO_RADIANS)
        other = keys[(keys.index(int(match.group(1))) + 1) % len(keys)]
        out += [("another angle in radians", DEGREE_TO_RADIANS[other])]
    if "\\pm" in gold:
        out += [("dropped \\pm root", gold.replace("\\pm", "+"))]
    if "\\sqrt{2}" in gold:
        out += [("sqrt2 to sqrt3", gold.replace("\\sqrt{2}", "\\sqrt{3}", 1))]
    if re.fullmatch(r"\\text\{[A-Za-z ]+\}", gold):
        out += [("other word", "\\text{" + gold[6:-1] + "s}")]
    return out


def top_level_terms(expr: str) -> list[str] | None:
    """Signed summands of ``expr`` split at depth-0 + and - (None when there is only one)."""
    if any(tok in expr for tok in ("=", ",", "\\pm", "\\cup", "<", ">", "\\le", "\\ge", "\\text", "^-", "_", "&",
                                   "\\begin", "\\\\", "\\mp")):
        return None
    terms, depth, cur = [], 0, ""
    for i, ch in enumerate(expr):
        depth += ch in "([{"
        depth -= ch in ")]}"
        after_product = expr[:i].rstrip().endswith(("\\cdot", "\\times", "e", "E"))
        if ch in "+-" and depth == 0 and cur.strip() and not after_product:
            terms.append(cur.strip())
            cur = ch
        else:
            cur += ch
    terms.append(cur.strip())
    return terms if len(terms) > 1 and all(t.strip("+-") for t in terms) else None


def _join_terms(terms: list[str]) -> str:
    text = " ".join(t if t[0] in "+-" else "+ " + t for t in terms)
    return text.lstrip("+ ") if text.startswith("+") else text


def _symbolic_rewrites(gold: str) -> list[tuple[str, str]]:
    """Rewrites of symbolic answers: reordered summands, \\dfrac everywhere, bmatrix, unicode minus."""
    out = []
    terms = top_level_terms(gold)
    if terms:
        out += [("reordered terms", _join_terms(terms[::-1]))]
    if "\\frac" in gold and not FRAC_RE.fullmatch(gold):
        out += [("dfrac everywhere", gold.replace("\\frac", "\\dfrac"))]
    if "pmatrix" in gold:
        out += [("bmatrix", gold.replace("pmatrix", "bmatrix"))]
    if gold.startswith("-") and INT_RE.fullmatch(gold):
        out += [("unicode minus", "\u2212" + gold[1:])]
    if re.fullmatch(r"\\frac\{\d\}\{\d\}", gold):
        out += [("frac shorthand", "\\frac" + gold[6] + gold[9])]
    if re.fullmatch(r"0\.\d+", gold):
        out += [("leading dot", gold[1:])]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\\%", gold.replace(" ", ""))
    if match:
        out += [("percent as decimal", str(Fraction(match.group(1)) / 100 if "." in match.group(1) else
                                          _terminating_decimal(Fraction(int(match.group(1)), 100))))]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)e(-?\d+)", gold)
    if match:
        out += [("e to times", f"{match.group(1)} \\times 10^{{{match.group(2)}}}")]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*\\times\s*10\^\{?(-?\d+)\}?", gold)
    if match:
        out += [("times to e", f"{match.group(1)}e{match.group(2)}")]
    return out


def irrational_approximation(gold: str) -> str | None:
    """8 significant digits of an irrational numeric gold (parsed by latex2sympy: trusted data)."""
    from deepscaler_grpo.reward.latex import parse_latex_answer  # units kept: "\\frac{c}{\\sqrt2}" is not a number

    if "." in gold or re.search(r"\de|e\d", gold):
        return None
    try:
        parsed = parse_latex_answer(gold)
        value = parsed[0] if parsed else None
        if value is None or isinstance(value, str) or not value.is_number or value.is_rational:
            return None
        approx = value.evalf(8)
        return str(approx) if approx.is_real and approx != 0 else None
    except Exception:  # noqa: BLE001 - any gold sympy cannot handle is skipped
        return None


def _one_unit_up(decimal: str) -> str:
    """The decimal plus one unit in its last place (outside the half-unit rounding tolerance)."""
    value = Decimal(decimal)
    return str(value + Decimal((0, (1,), value.as_tuple().exponent)))


def decimal_policy_rewrites(gold: str, digits: int) -> list[tuple[str, str, bool]]:
    """(kind, answer, label) of rounded decimals for an exact non-terminating gold, labelled by the policy.

    The policy (``deepscaler_grpo.reward.decimals``): a decimal with ``digits`` significant digits (0: none) equals
    the exact value rounded at its precision; one unit off in the last place, or fewer digits, is wrong.
    """
    value = _frac_value(gold)
    if value is not None and _terminating_decimal(value) is None:
        rounded = f"{float(value):.4f}"
    else:
        rounded = irrational_approximation(gold) if value is None and not DEC_RE.fullmatch(gold) else None
    if not rounded or not DEC_RE.fullmatch(rounded):
        return []
    enough = digits > 0 and significant_digits(rounded) >= digits
    return [("rounded decimal (policy)", rounded, enough), ("mis-rounded decimal", _one_unit_up(rounded), False)]


def _bump_digit(gold: str, rng: random.Random) -> str | None:
    digits = [m.start() for m in re.finditer(r"\d", gold)]
    if not digits:
        return None
    i = rng.choice(digits)
    return gold[:i] + str((int(gold[i]) + 1) % 10) + gold[i + 1 :]


def wrong_rewrites(gold: str, rng: random.Random, digits: int) -> list[tuple[str, str]]:
    """(kind, answer) pairs that differ in meaning from ``gold``."""
    out = near_misses(gold)
    if INT_RE.fullmatch(gold):
        value = int(gold)
        out += [("off by one", str(value + 1)), ("off by one", str(value - 1))]
        out += [("sign flip", str(-value))] if value else []
        out += [("thousands off", f"{value + 1000:,}")] if abs(value) >= 1000 else []
        out += [("x= wrong", f"x = {value + 2}")]
        return out
    value = _frac_value(gold)
    if value is not None:
        out += [("numerator+1", f"\\frac{{{value.numerator + 1}}}{{{value.denominator}}}")]
        out += [("sign flip", f"{'' if value < 0 else '-'}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}")]
        if value.numerator != value.denominator and value.numerator:
            out += [("reciprocal", f"\\frac{{{value.denominator}}}{{{value.numerator}}}")]
        out += [(kind, answer) for kind, answer, label in decimal_policy_rewrites(gold, digits) if not label]
        return out
    if DEC_RE.fullmatch(gold):
        out += [("close float", gold + "1"), ("last digit", gold[:-1] + str((int(gold[-1]) + 1) % 10))]
        out += [("scaled", str(Fraction(gold) * 10))]
        return out
    parts = _split_list(gold[1:-1]) if gold[:1] in "([" and gold[-1:] in ")]" else None
    if parts and len(parts) == 2 and parts[0] != parts[1] and "\\cup" not in gold:
        out += [("swapped tuple", gold[0] + parts[1] + ", " + parts[0] + gold[-1])]
        flipped = {"(": "[", "[": "("}[gold[0]] + gold[1:]
        out += [("bracket changed", flipped)]
    listed = _split_list(gold)
    if listed and not gold.startswith(("(", "[")):
        out += [("dropped element", ", ".join(listed[:-1]))]
    terms = top_level_terms(gold)
    if terms:
        flipped_first = ("-" + terms[1].lstrip("+").strip()) if terms[1][0] == "+" else ("+ " + terms[1][1:].strip())
        out += [("flipped sign", _join_terms([terms[0], flipped_first, *terms[2:]]))]
    out += [(kind, answer) for kind, answer, label in decimal_policy_rewrites(gold, digits) if not label]
    bumped = _bump_digit(gold, rng)
    if bumped and bumped != gold:
        out += [("changed digit", bumped)]
    return out


def wrap(answer: str, rng: random.Random) -> str:
    """A response around the answer: <answer> tag, \\boxed{}, or both."""
    if answer.startswith("WORDS:"):  # wording around several $..$ pieces inside the tag
        return f"Some reasoning.\n<answer>{answer[len('WORDS:'):]}</answer>"
    style = rng.randrange(3)
    if style == 0:
        return f"Some reasoning.\n<answer>{answer}</answer>"
    if style == 1:
        return f"Some reasoning, so the answer is $\\boxed{{{answer}}}$."
    return f"Reasoning \\boxed{{0}} ... <answer>\n$\\boxed{{{answer}}}$\n</answer>"


def load_golds(data_dir: Path, max_golds: int | None, rng: random.Random) -> list[object]:
    golds: list[object] = []
    for name in DATA_FILES:
        golds += [row["answer"] for row in json.loads((data_dir / name).read_text()) if row.get("answer") is not None]
    train = [r["answer"] for r in json.loads((data_dir / "train_math.json").read_text()) if r.get("answer")]
    golds += rng.sample(train, min(500, len(train)))
    if max_golds and len(golds) > max_golds:
        golds = rng.sample(golds, max_golds)
    return golds


def build_cases(golds: list[object], rng: random.Random, digits: int) -> list[Case]:
    cases = []
    for gold in golds:
        first = gold_strings(gold)[0] if gold_strings(gold) else None
        if not first:
            continue
        klass = gold_class(first)
        accepted = {g.replace(" ", "") for g in gold_strings(gold)}
        for label, rewrites in ((True, equivalent_rewrites), (False, wrong_rewrites)):
            for kind, answer in rewrites(first, rng, digits):
                if not label and answer.replace(" ", "") in accepted:
                    continue  # a "wrong" rewrite that is another acceptable gold
                cases.append(Case(gold, wrap(answer, rng), label, kind, klass))
    return cases


def load_independent(path: Path) -> list[Case]:
    """The independent part: hand-written (gold, model-style response, label, class) rows, one JSON object a line.

    A row's ``policy`` (``VerifierPolicy`` fields) is the policy its label was written for: the ``decimal_policy``
    rows are labelled for 3-digit decimals (``benchmarks/decimal_policy.py`` measures the settings). A row's
    ``question`` is the problem text it answers (math-verify does not read it).
    """
    cases = []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            first = gold_strings(row["gold"])[0]
            policy = VerifierPolicy(**row["policy"]) if "policy" in row else None
            cases.append(Case(row["gold"], row["response"], bool(row["label"]), row["class"], gold_class(first), policy,
                              row.get("question")))
    return cases
