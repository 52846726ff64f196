"""Answer extraction from model output: the last ``<answer>`` tag, else the last ``\\boxed{}``.

Linear in the response and bounded: string searches (``str.rfind``) and a brace counter that never reads a
character twice (``_Scan``), no regex that can backtrack. Hard caps: only the last ``MAX_RESPONSE_CHARS`` of a
response are read (the answer is at its end), at most ``MAX_BOX_COMMANDS`` box commands are looked at, and a
box or tag longer than ``MAX_ANSWER_CHARS`` is an answer too long to grade (it scores 0 without more work).

    >>> extract_answer("so <answer> $\\\\frac{1}{2}$ </answer>")
    '\\\\frac{1}{2}'
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

OPEN_TAG = "<answer>"
CLOSE_TAG = "</answer>"
BOX_COMMANDS = ("\\boxed", "\\fbox")
MAX_RESPONSE_CHARS = 1_000_000
MAX_ANSWER_CHARS = 4_096
MAX_BOX_COMMANDS = 64
MAX_BOXES = 8  # adjacent boxes joined into one list answer
MAX_GAP_CHARS = 200  # wording between two boxes longer than this is never only "and"
UNCLOSED, TOO_LONG = "unclosed", "too long"  # _Scan.group's answers when there is no group
_BRACE_RE = re.compile(r"(?<!\\)[{}]")
_SPACES_RE = re.compile(r" *")
_TOKEN_RE = re.compile(r"\S+")
_LEAD_IN_RE = re.compile(
    r"^(?:(?:so|thus|therefore|hence),?\s+)?(?:the\s+)?(?:final\s+)?answer(?:\s+is)?\s*[:=]?\s*", re.IGNORECASE
)
_QUALIFIER_RE = re.compile(r"\s*,?\s*(?:where|with|for|if|when|such that)\b", re.IGNORECASE)
_INLINE_MATH_RE = re.compile(r"\$([^$]+)\$")
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
    """True when the text has a non-empty ``<answer>`` tag (the format reward); the last ``MAX_RESPONSE_CHARS`` only."""
    content = last_answer_tag(text[-MAX_RESPONSE_CHARS:])
    return content is not None and bool(unwrap(content))


class _Scan:
    """Box commands of one text, from the end, with the bound that keeps the whole scan linear.

    A box whose group never closes (``\\boxed{`` cut off) hides no later box, and a box before it can only
    close before it: ``bound`` drops to its start, so no character is scanned twice for unclosed boxes, and
    at most ``MAX_BOX_COMMANDS`` commands and ``MAX_ANSWER_CHARS`` characters per closed box are read.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.bound = len(text)
        self._next = {cmd: text.rfind(cmd) for cmd in BOX_COMMANDS}  # each command searched once per hit
        self._last_close = -2  # cached rfind("}") below ``bound`` (-2: not searched yet)

    def commands(self) -> Iterator[tuple[int, str]]:
        """(start, command) of the last ``MAX_BOX_COMMANDS`` box commands, last first."""
        for _ in range(MAX_BOX_COMMANDS):
            command = max(self._next, key=self._next.__getitem__)
            start = self._next[command]
            if start < 0:
                return
            self._next[command] = self.text.rfind(command, 0, start)
            if not self.text[start + len(command) : start + len(command) + 1].isalpha():  # "\boxedx": another one
                yield start, command

    def close_before_bound(self, open_at: int) -> bool:
        """Whether any ``}`` lies between ``open_at`` and the bound (one backwards search per bound)."""
        if self._last_close == -2 or self._last_close >= self.bound:
            self._last_close = self.text.rfind("}", 0, self.bound)
        return self._last_close > open_at

    def group(self, open_at: int) -> tuple[str, int] | str:
        """(content, end) of the ``{...}`` group at ``open_at``; UNCLOSED or TOO_LONG when there is none."""
        depth, window_end = 0, min(self.bound, open_at + MAX_ANSWER_CHARS + 2)
        for match in _BRACE_RE.finditer(self.text, open_at, window_end):
            depth += 1 if match.group() == "{" else -1
            if depth == 0:
                return self.text[open_at + 1 : match.start()], match.end()
        if window_end == self.bound or not self.close_before_bound(open_at):
            return UNCLOSED
        return TOO_LONG

    def argument(self, start: int, command: str) -> tuple[str, int] | str | None:
        """(argument, end) of the box command at ``start``: ``\\boxed{...}`` or ``\\boxed 5``; None: no argument."""
        after = start + len(command)
        i = _SPACES_RE.match(self.text, after).end()  # type: ignore[union-attr]
        if self.text[i : i + 1] == "{":
            return self.group(i)
        token = _TOKEN_RE.match(self.text, i) if i > after else None  # "\boxed 5": the next token
        value = token.group().rstrip("$.,") if token else ""
        return (value, i + len(value)) if value else None


def _boxes_from_the_end(text: str, limit: int = MAX_BOXES) -> list[tuple[int, int, str]] | None:
    """(start, end, content) of up to ``limit`` closed boxes, last first; None when the last box is too long."""
    scan, boxes = _Scan(text), []
    for start, command in scan.commands():
        argument = scan.argument(start, command)
        if argument is UNCLOSED:
            scan.bound = start
        elif argument is TOO_LONG:
            return boxes or None  # a box longer than any answer: no answer (or the end of a list run)
        elif argument is not None:
            boxes.append((start, argument[1], argument[0]))  # type: ignore[index]
            if len(boxes) == limit:
                break
    return boxes


def _joiner_gap(gap: str) -> bool:
    """Only math delimiters, spacing, commas and and/or between two boxes: one list answer."""
    return len(gap) <= MAX_GAP_CHARS and _only_joiners(_GAP_NOISE_RE.sub(" ", gap))


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` or ``\\fbox{...}`` with balanced braces, or None.

    Boxes right before it, separated only by commas / and / or (``$\\boxed{2}$ and $\\boxed{3}$``), make
    one list answer with it: ``2, 3``. A last box that does not close within ``MAX_ANSWER_CHARS`` is no answer.
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
    """Remove pairs of math delimiters around the whole content (``$$ $5$ $$`` -> ``5``)."""
    for _ in range(len(MATH_DELIMITERS) * 2):
        pair = next((p for p in MATH_DELIMITERS if len(content) >= len(p[0]) + len(p[1])
                     and content.startswith(p[0]) and content.endswith(p[1])), None)
        if pair is None:
            break
        content = content[len(pair[0]) : len(content) - len(pair[1])].strip()
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
    """Clean an answer: strip whitespace, ``$..$``/``\\(..\\)`` delimiters, and take a ``\\boxed{}`` inside.

    Content longer than ``MAX_ANSWER_CHARS`` comes back stripped only: no answer is that long.
    """
    content = content.strip()
    if any(cmd in content for cmd in BOX_COMMANDS):
        boxed = last_boxed(content)
        if boxed is not None:
            content = boxed.strip()
    if len(content) > MAX_ANSWER_CHARS:
        return content
    if len(content) < 2000:
        content = _drop_wording(content.rstrip(".").strip() if not content.endswith("..") else content)
    content = _strip_delimiters(content)
    return content.rstrip(".").strip() if not content.endswith("..") else content


def extract_answer(text: str, boxed_fallback: bool = True) -> str | None:
    """The answer in a model output: last ``<answer>`` tag, else last ``\\boxed{}``; None if none/empty.

    Text outside the chosen tag never counts; an empty last tag means no answer (no fallback). Only the last
    ``MAX_RESPONSE_CHARS`` characters are read.
    """
    if not isinstance(text, str):
        return None
    text = text[-MAX_RESPONSE_CHARS:]
    tag = last_answer_tag(text)
    if tag is not None:
        return unwrap(tag) or None
    if not boxed_fallback:
        return None
    boxed = last_boxed(text)
    if boxed is None:
        return None
    return unwrap(boxed) or None
