"""Rewrites that need both answers: labelled lists, renamed function arguments, units glued to numbers.

``align_pair(pred, gold)`` takes two cleaned answers and returns the pair to compare, or a final
False. Policies (gold first):

- labels: an item may carry a label, ``Alice: 7``, ``\\text{Minimum: } 1``, ``40 \\text{ apples}``,
  ``T(3) = 5``, ``a_{\\min} = 2``. Every item is compared, never only the first. Both sides labelled
  with the same labels: values are matched label by label (``Bob: 9, Alice: 7`` = ``Alice: 7, Bob: 9``),
  other labels are wrong (``x = 3`` is not ``y = 3``). A labelled gold against bare values: the values in
  the gold's order (``Minimum: 1, Maximum: 3`` accepts ``1, 3``, not ``3, 1``). Repeated labels
  (``x = 1, x = 2``) and indexed names (``x_1 = 2, x_2 = 3``, roots) are no order: the values are a list.
- function arguments: ``f(t) = t^2`` = ``f(x) = x^2`` when each side names one argument letter.
- glued units: ``10weeks`` / ``5cm^2`` = ``10`` / ``5`` when the other side is a plain number; a single
  letter is never a unit here (``6m`` is 6 times m, not 6 metres), unless the other side writes that
  unit (``6 \\mathrm{~m}``: ``fast.prepare``).
"""

from __future__ import annotations

import re

from deepscaler_grpo.reward.forms import LIST_AND_RE, TEXT_RE, split_top_level

_COLON_LABEL_RE = re.compile(  # "Alice: 7", "\text{Minimum: } 1", "\text{Minimum}: 1"
    r"(?:\\text\s*\{\s*)?([A-Za-z][A-Za-z ]*[A-Za-z])\s*\}?\s*:\s*\}?\s*(\S.*)"
)
_WORD_LABEL_RE = re.compile(r"(.*[\d}])\s+([A-Za-z]{3,}(?:\s+[A-Za-z]+)*)")  # "40 apples", never "3xy"
_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_FUNCTION_LABEL_RE = re.compile(r"[a-z]\([a-z]\)")
_TEXT_AND_RE = re.compile(r"\\text\s*\{([^{}]*?[A-Za-z][^{}]*?)\s+(?:and|or)\s*\}")
_PREFIX_TEXT_LABEL_RE = re.compile(r"\\text\s*\{\s*([A-Za-z][A-Za-z ]*?)\s*:?\s*\}\s*(.+)")  # "\text{width } 5"
_TEXT_LABEL_RE = re.compile(r"(.*[\d}])\s*\\text\s*\{\s*([A-Za-z][A-Za-z ]*?)\s*\}")  # "40 \text{ apples}"
_LHS = (  # x, a_{\min}, T(3), E[X], \angle ABC, \overline{AB}, m\angle A, \sin A, |AB|, \text{length}
    r"\\text\s*\{\s*[A-Za-z][A-Za-z ]*\}"
    r"|\\?[A-Za-z]+(?:_(?:\{[^{}]{1,20}\}|\w))?(?:\s*\([^()=]{1,12}\)|\s*\[[^\[\]=]{1,12}\])?"
    r"|(?:m\s*)?\\(?:angle|overline|vec|hat|bar|widehat)\s*\{?\s*[A-Za-z](?:\s*[A-Za-z]){0,3}\s*\}?"
    r"|\\(?:sin|cos|tan|cot|sec|csc|ln|log)\s*\(?\s*\\?[A-Za-z]+\s*\)?|\|[A-Za-z]{1,4}\|"
)
_ASSIGN_LABEL_RE = re.compile(r"(" + _LHS + r")\s*=(?!=)\s*(\S.*)")
_FUNCTION_ARG_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z](?:_\{?\w+\}?)?\s*\(\s*([A-Za-z])\s*\)\s*=")
_GLUED_UNIT_RE = re.compile(
    r"([\d.}])\s*(?:cm|mm|km|kg|mg|ml|ft|yd|mph|kmh|sec|secs|min|mins|hrs?|days?|weeks?|months?|years?|"
    r"hours?|minutes?|seconds?|meters?|metres?|inches|feet|miles?|units?|dollars?|cents?|degrees?)"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?$"
)
_SCRIPT_GROUP_RE = re.compile(r"([_^])\{(\w+)\}")  # x_{1} and x_1 are one label
_BARE_LOG_RE = re.compile(r"\\log(?![A-Za-z_])")
_NUMERIC_RE = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+|\\frac\{\d+\}\{\d+\}|\d+/\d+)")


def _word_label(item: str) -> tuple[str, str] | None:
    """(label, value) of ``40 \\text{ apples}`` / ``40 apples`` / ``\\text{width } 5``: a value without variables."""
    prefix = _PREFIX_TEXT_LABEL_RE.fullmatch(item)
    if prefix:
        label, value = prefix.group(1), prefix.group(2).strip()
    else:
        match = _TEXT_LABEL_RE.fullmatch(item) or _WORD_LABEL_RE.fullmatch(TEXT_RE.sub(r" \1 ", item).strip())
        if match is None:
            return None
        value, label = match.group(1).strip(), match.group(2)
    if not re.search(r"\d", value) or re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", value)):
        return None  # "2ab apples" or "x apples": not a labelled number
    return re.sub(r"\s+", " ", label).lower(), value


def split_label(item: str) -> tuple[str | None, str]:
    """(normalised label or None, value) of one list item.

    A word label follows a value without variables: after a space with 3+ letters, or in ``\\text{}``;
    ``2ab``, ``3 xy`` and ``\\frac{1}{2}ab`` are products of variables, not labelled numbers.
    """
    for regex in (_COLON_LABEL_RE, _ASSIGN_LABEL_RE):
        match = regex.fullmatch(item.strip())
        if match:  # the value keeps its \text{} (a unit there is stripped later); the label loses it
            label = re.sub(r"\s+", "", TEXT_RE.sub(r"\1", match.group(1))).lower()
            return _SCRIPT_GROUP_RE.sub(r"\1\2", label), match.group(2).strip()
    return _word_label(item) or (None, item)


def _items(s: str) -> list[str]:
    """Top-level items, split at commas and at ``and``/``or``, also one ending a label (``\\text{ boys and }``)."""
    s = _TEXT_AND_RE.sub(r"\\text{\1}, ", s)
    return [item for item in split_top_level(LIST_AND_RE.sub(", ", s)) if item]


def _joined(values: list[str], ordered: bool) -> str:
    """One value as is; several as a tuple when the gold's labels order them, else as a bare list."""
    if len(values) == 1:
        return values[0]
    return "(" + ", ".join(values) + ")" if ordered else ", ".join(values)


def _indexed(labels: list[str]) -> bool:
    """``x_1, x_2``: one name with indices, the roots of one equation, in no particular order."""
    names = {re.sub(r"_\{?\w+\}?$", "", label) for label in labels}
    return len(names) == 1 and all("_" in label for label in labels)


def _gold_spelling(label: str, gold_labels: list[str]) -> str:
    """The gold label this one abbreviates or spells out (``min`` / ``minimum``), when exactly one fits."""
    if label in gold_labels or len(label) < 3:
        return label
    fits = {g for g in gold_labels if len(g) >= 3 and (g.startswith(label) or label.startswith(g))}
    return fits.pop() if len(fits) == 1 else label


def _same_function(p_labels: list[str], g_labels: list[str]) -> bool:
    """``y = x^2`` against ``f(x) = x^2``: one item, ``y`` on one side and a function of one letter on the other."""
    if len(p_labels) != 1 or len(g_labels) != 1:
        return False
    pair = {p_labels[0], g_labels[0]}
    return "y" in pair and any(_FUNCTION_LABEL_RE.fullmatch(label) for label in pair)


def align_labels(pred: str, gold: str) -> tuple[str, str] | bool | None:
    """The label policy of the module doc: the pair of value strings, False, or None (no labels)."""
    both = pred + gold
    if "=" not in both and ":" not in both and not _WORD_RE.search(both):
        return None  # no "=", no ":", no word outside a command (\frac): no labels
    p_split, g_split = [split_label(i) for i in _items(pred)], [split_label(i) for i in _items(gold)]
    p_labels, g_labels = [label for label, _ in p_split], [label for label, _ in g_split]
    p_all, g_all = None not in p_labels, None not in g_labels
    if not (p_all or g_all) or (any(p_labels) and not p_all) or (any(g_labels) and not g_all):
        return None  # no labels, or only some items labelled
    tuple_gold = len(g_split) == 1 and len(p_split) > 1 and not g_all
    if tuple_gold or ("=" in pred and not p_all) or ("=" in gold and not g_all):
        return None  # a tuple gold against "a = 2, b = 3", or an equation: the symbolic grader reads both
    p_values, g_values = [v for _, v in p_split], [v for _, v in g_split]
    ordered = g_all and len(set(g_labels)) == len(g_labels) and not _indexed(g_labels)  # type: ignore[arg-type]
    if p_all and g_all:
        if _same_function(p_labels, g_labels):  # type: ignore[arg-type]
            return p_values[0], g_values[0]
        matched = _values_by_gold_label(p_labels, p_values, g_labels, ordered)  # type: ignore[arg-type]
        if matched is None:
            return False
        p_values = matched
    return _joined(p_values, ordered), _joined(g_values, ordered)


def _values_by_gold_label(
    p_labels: list[str], p_values: list[str], g_labels: list[str], ordered: bool
) -> list[str] | None:
    """The pred values in the gold's label order (as they are when labels repeat); None when the labels differ."""
    p_labels = [_gold_spelling(label, g_labels) for label in p_labels]
    if sorted(p_labels) != sorted(g_labels):
        return None
    if not ordered:
        return p_values
    by_label = dict(zip(p_labels, p_values))
    return [by_label[label] for label in g_labels]


def rename_argument(pred: str, gold: str) -> str:
    """``f(t) = t^2`` against ``f(x) = ...``: the pred with ``t`` renamed ``x`` (one argument letter each)."""
    p_args, g_args = set(_FUNCTION_ARG_RE.findall(pred)), set(_FUNCTION_ARG_RE.findall(gold))
    if len(p_args) != 1 or len(g_args) != 1 or p_args == g_args:
        return pred
    (old,), (new,) = p_args, g_args
    letter = r"(?<![\\A-Za-z]){}(?![A-Za-z])"
    if re.search(letter.format(new), pred):
        return pred  # the new name is taken
    return re.sub(letter.format(old), new, pred)


def strip_glued_unit(s: str, other: str) -> str:
    """``10weeks`` -> ``10`` when ``other`` is a plain number (the other side agrees there is no variable)."""
    if not _NUMERIC_RE.fullmatch(other):
        return s
    return _GLUED_UNIT_RE.sub(r"\1", s)


def natural_logs(pred: str, gold: str) -> tuple[str, str]:
    """``\\log`` without a base is the natural logarithm when the other side writes ``\\ln``: ``\\log 2`` = ``\\ln 2``.

    An explicit base (``\\log_{10}``, ``\\log_2``) is never touched.
    """
    if "\\ln" in gold and _BARE_LOG_RE.search(pred):
        pred = _BARE_LOG_RE.sub(r"\\ln", pred)
    elif "\\ln" in pred and _BARE_LOG_RE.search(gold):
        gold = _BARE_LOG_RE.sub(r"\\ln", gold)
    return pred, gold


def align_pair(pred: str, gold: str) -> tuple[str, str] | bool:
    """The pair to compare after the rewrites of the module doc, or False when labels disagree."""
    if not re.search(r"[A-Za-z]", pred + gold):
        return pred, gold  # numbers only: nothing to align (the hot path)
    pred, gold = strip_glued_unit(pred, gold), strip_glued_unit(gold, pred)
    if "=" in pred and "=" in gold:
        pred = rename_argument(pred, gold)
    labelled = align_labels(pred, gold)
    if labelled is None:
        return pred, gold
    return labelled
