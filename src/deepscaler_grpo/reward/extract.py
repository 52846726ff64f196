"""Answer extraction from model output: the last ``<answer>`` tag, else the last ``\\boxed{}``.

Pure string scanning (``str.rfind`` and a brace counter), linear in the input, so a megabyte of
hostile text is handled in milliseconds and no regex can backtrack.

    >>> extract_answer("so <answer> $\\\\frac{1}{2}$ </answer>")
    '\\\\frac{1}{2}'
"""

from __future__ import annotations

import itertools
import re

OPEN_TAG = "<answer>"
CLOSE_TAG = "</answer>"
BOX_COMMANDS = ("\\boxed", "\\fbox")
_LEAD_IN_RE = re.compile(
    r"^(?:(?:so|thus|therefore|hence),?\s+)?(?:the\s+)?(?:final\s+)?answer(?:\s+is)?\s*[:=]?\s*", re.IGNORECASE
)
_QUALIFIER_RE = re.compile(r"\s*,?\s*(?:where|with|for|if|when|such that)\b", re.IGNORECASE)
_INLINE_MATH_RE = re.compile(r"\$([^$]+)\$")
MAX_BOXES = 8
_GAP_NOISE_RE = re.compile(r"\$|\\[()\[\]]|\\q?quad|\\text\s*\{\s*(?:,?\s*(?:and|or)\s*)?\}|\\[,;: ]")
MATH_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def last_answer_tag(text: str) -> str | None:
    """Raw content of the last complete ``<answer>...</answer>`` pair (case-insensitive), or None."""
    lower = text.lower()
    end = lower.rfind(CLOSE_TAG)
    if end < 0:
        return None
    start = lower.rfind(OPEN_TAG, 0, end)
    if start < 0:
        return None
    return text[start + len(OPEN_TAG) : end]


def has_answer_tag(text: str) -> bool:
    """True when the text has a non-empty ``<answer>`` tag (the format reward)."""
    content = last_answer_tag(text)
    return content is not None and bool(unwrap(content))


def _balanced_group(text: str, open_at: int) -> tuple[str, int] | None:
    """Content of the ``{...}`` group starting at ``text[open_at] == '{'`` and the index after it."""
    depth = 0
    for i in range(open_at, len(text)):
        char = text[i]
        if char == "{" and text[i - 1 : i] != "\\":
            depth += 1
        elif char == "}" and text[i - 1 : i] != "\\":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i], i + 1
    return None


def _boxed_argument(text: str, start: int, command: str) -> tuple[str, int] | None:
    """(argument, end index) of the box command at ``start``: ``\\boxed{...}`` or ``\\boxed 5``."""
    i = start + len(command)
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] == "{":
        return _balanced_group(text, i)
    if i > start + len(command) and i < len(text):  # "\boxed 5": the next token
        token = text[i:].split(None, 1)[0] if text[i:].split() else ""
        return (token.rstrip("$.,"), i + len(token)) if token.rstrip("$.,") else None
    return None


def _boxes_from_the_end(text: str, limit: int = MAX_BOXES) -> list[tuple[int, int, str]]:
    """(start, end, content) of the last ``limit`` box commands, last first (a bounded number of scans)."""
    boxes: list[tuple[int, int, str]] = []
    stop = len(text)
    while len(boxes) < limit:
        start, command = max((text.rfind(cmd, 0, stop), cmd) for cmd in BOX_COMMANDS)
        if start < 0:
            break
        stop = start
        if text[start + len(command) : start + len(command) + 1].isalpha():
            continue  # "\boxedx" is another command
        argument = _boxed_argument(text, start, command)
        if argument is not None:
            boxes.append((start, argument[1], argument[0]))
    return boxes


def _joiner_gap(gap: str) -> bool:
    """Only math delimiters, spacing, commas and and/or between two boxes: one list answer."""
    return _only_joiners(_GAP_NOISE_RE.sub(" ", gap))


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` or ``\\fbox{...}`` with balanced braces, or None.

    Boxes right before it, separated only by commas / and / or (``$\\boxed{2}$ and $\\boxed{3}$``), make
    one list answer with it: ``2, 3``.
    """
    boxes = _boxes_from_the_end(text)
    if not boxes:
        return None
    run = [boxes[0]]
    for box in boxes[1:]:
        if box[1] > run[-1][0] or not _joiner_gap(text[box[1] : run[-1][0]]):
            break  # nested in the next box, or wording between them
        run.append(box)
    return ", ".join(content.strip() for _, _, content in reversed(run)) if len(run) > 1 else run[0][2]


def _strip_delimiters(content: str) -> str:
    """Remove one pair of math delimiters around the whole content, repeatedly."""
    changed = True
    while changed:
        changed = False
        for left, right in MATH_DELIMITERS:
            if len(content) >= len(left) + len(right) and content.startswith(left) and content.endswith(right):
                content = content[len(left) : len(content) - len(right)].strip()
                changed = True
                break
    return content


def _only_joiners(text: str) -> bool:
    return not re.sub(r"\b(?:and|or)\b|[,.;\s]", "", text)


def _drop_wording(content: str) -> str:
    """``The final answer is $5$.`` -> ``5``; ``The roots are $1$ and $2$`` -> ``1, 2``; ``**5**`` -> ``5``.

    Several ``$..$`` pieces separated only by commas/and/or are one list answer, whatever wording
    comes before or after them; wording between them (``$x=3$, so the answer is $5$``) keeps the last,
    unless it is a qualifying clause (``$f(x)=ax+b$, where $b$ is ...``): then the first.
    """
    content = _LEAD_IN_RE.sub("", content, count=1).strip()
    if content.startswith("**") and content.endswith("**") and len(content) > 4:
        content = content[2:-2].strip()
    if content.count("$") >= 2 and not (content.startswith("$") and content.endswith("$") and content.count("$") == 2):
        pieces = [m for m in _INLINE_MATH_RE.finditer(content) if m.group(1).strip()]
        outside = _INLINE_MATH_RE.sub("", content)
        if pieces and (_only_joiners(outside) or re.search(r"[A-Za-z]{2}", outside)):
            between = [content[a.end() : b.start()] for a, b in itertools.pairwise(pieces)]
            segments = [m.group(1).strip() for m in pieces]
            if all(map(_only_joiners, between)):  # "$x<1$ or $x>2$": a union, not a list of conditions
                joiner = " \\text{ or } " if any(re.search(r"\bor\b", b) for b in between) else ", "
                content = joiner.join(segments)
            else:  # "$f(x)=ax+b$, where $b$ is ...": a qualifying clause follows the answer
                content = segments[0] if _QUALIFIER_RE.match(between[0]) else segments[-1]
    return content


def unwrap(content: str) -> str:
    """Clean an answer: strip whitespace, ``$..$``/``\\(..\\)`` delimiters, and take a ``\\boxed{}`` inside."""
    content = content.strip()
    if any(cmd in content for cmd in BOX_COMMANDS):
        boxed = last_boxed(content)
        if boxed is not None:
            content = boxed.strip()
    if len(content) < 2000:
        content = _drop_wording(content.rstrip(".").strip() if not content.endswith("..") else content)
    content = _strip_delimiters(content)
    return content.rstrip(".").strip() if not content.endswith("..") else content


def extract_answer(text: str, boxed_fallback: bool = True) -> str | None:
    """The answer in a model output: last ``<answer>`` tag, else last ``\\boxed{}``; None if none/empty.

    Text outside the chosen tag never counts; an empty last tag means no answer (no fallback).
    """
    if not isinstance(text, str):
        return None
    tag = last_answer_tag(text)
    if tag is not None:
        return unwrap(tag) or None
    if not boxed_fallback:
        return None
    boxed = last_boxed(text)
    if boxed is None:
        return None
    return unwrap(boxed) or None
