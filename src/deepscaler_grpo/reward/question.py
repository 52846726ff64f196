"""What the question's wording asks of the answer's form: ``asks_for_order(question)``.

The question is the problem text: TRL passes it to reward functions as ``prompts`` (the last user message is
used), verl's ``extra_info`` may carry it as ``question`` / ``problem``, and ``check`` / ``compute_score`` /
``score_batch`` take it as ``question=``. Without a question nothing changes.

An order is asked for when the question says so (``in increasing order``, ``from least to greatest``,
``ordered pair``, ``respectively``, ``as (a, b, c)``) or names the unknowns one after another (``find a, b and
c``, ``compute $x$ and $y$``): a bare list answer (``1, 2, 3``) is then compared in order. ``in order to`` is
no request for an order. Only the first ``MAX_QUESTION_CHARS`` of a question are read (linear regexes).

    >>> asks_for_order("List the roots in increasing order.")
    True
"""

from __future__ import annotations

import re

MAX_QUESTION_CHARS = 20_000
_ORDER_RE = re.compile(
    r"\b(?:in\s+(?:strictly\s+)?(?:increasing|decreasing|ascending|descending|non-?decreasing|non-?increasing"
    r"|numerical|alphabetical|that|this|the\s+(?:same|given)|the\s+order)\s+order"
    r"|(?:from|ordered\s+from)\s+(?:the\s+)?(?:least|smallest|lowest|largest|greatest|highest|biggest)\s+to"
    r"|ordered\s+(?:pairs?|triples?|triplets?|quadruples?|quintuples?|tuples?|lists?|sets?|n-tuples?)"
    r"|respectively|in\s+that\s+order|in\s+order(?!\s+(?:to|for|that)\b))",
    re.IGNORECASE,
)
_NAME = r"\$?\s*\\?[A-Za-z](?:_\{?\w+\}?)?\s*\$?"
_NAMED_UNKNOWNS_RE = re.compile(  # "find a, b, and c", "compute $x$ and $y$", "as (a, b, c)"
    r"\b(?:find|compute|determine|calculate|what\s+are|give|solve\s+for|enter|express)\s+(?:the\s+values?\s+of\s+)?"
    + _NAME + r"(?:\s*,\s*" + _NAME + r")*\s*,?\s*(?:and|then)\s+" + _NAME + r"(?![\w({^=+*/-])"
    r"|\bas\s+\$?\s*\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])+\s*\)",
    re.IGNORECASE,
)


def asks_for_order(question: str | None) -> bool:
    """True when the question asks for its answers in an order (module doc)."""
    if not isinstance(question, str) or not question:
        return False
    text = question[:MAX_QUESTION_CHARS]
    return bool(_ORDER_RE.search(text) or _NAMED_UNKNOWNS_RE.search(text))
