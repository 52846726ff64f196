"""Adversarial responses for the verifier's in-process time bound (the property test and the benchmark).

A degenerate policy emits text like this: every command the verifier parses repeated, nested or left open,
long digit strings, repeated tags, megabytes of it. ``adversarial_responses(size)`` yields (name, response)
pairs of about ``size`` characters; ``PIECES`` are the building blocks (for random mixes, e.g. hypothesis).
``in_process_seconds(response, gold)`` is the CPU time this process spends grading one response (time in
worker processes does not count: it is bounded by the policy's ``timeout_s`` and runs elsewhere).

    worst = max(in_process_seconds(text, "1") for _, text in adversarial_responses(1_000_000))
"""

from __future__ import annotations

import time
from collections.abc import Iterator

OPENERS = (  # every command or delimiter some step parses, as it opens
    "\\boxed{", "\\fbox{", "\\boxed ", "{", "(", "[", "\\{", "\\left(", "\\left\\{", "\\frac{", "\\dfrac{", "\\sqrt{",
    "\\sqrt[", "\\text{", "\\textbf{", "\\mathrm{", "\\operatorname{", "\\overline{", "\\mathbb{", "^{", "_{", "$",
    "$$", "\\(", "\\[", "<answer>", "</answer>", "\\begin{pmatrix}", "\\begin{array}{c}", "\\langle", "10^{",
    "\\log_{", "\\ln(", "\\sin(", "\\binom{", "\\{x \\mid ",
)
SEPARATORS = (  # joiners and relations the list, label, region and unit steps split on
    ", ", " and ", " or ", " \\text{ or } ", " = ", ": ", " < ", " \\le ", " \\cup ", " \\pm ", " \\approx ", " & ",
    " \\\\ ", " \\cdot ", " \\times ", "^\\circ ", "' ", "\\% ", " \\text{ cm}", " \\text{ for all } ", " \\quad ",
    "; ", " < x < ", "... ", " \\in ",
)
ATOMS = ("1", "9", "0.5", "x", "\\pi", "\\infty", "a_1", "\\text{No}", "2^{2008}", "1,000", "f(x)", "k\\pi", "20000!",
         "\\binom{20000}{10000}", "9^{999999999999}", "60^\\circ 42'", "\\frac{\\pi}{4}+k\\pi")
PIECES = OPENERS + SEPARATORS + ATOMS


def _repeat(piece: str, size: int) -> str:
    return piece * max(1, size // max(1, len(piece)))


def adversarial_responses(size: int) -> Iterator[tuple[str, str]]:
    """(name, response) pairs of about ``size`` characters (module doc)."""
    for opener in OPENERS:
        yield f"open {opener!r}", _repeat(opener, size)
        half = max(1, size // (2 * len(opener) + 2))
        yield f"nested {opener!r}", opener * half + "1" + "}" * half
        yield f"boxed open {opener!r}", "\\boxed{" + _repeat(opener, size)
        yield f"answer of {opener!r}", "<answer>" + _repeat(opener, min(size, 4000)) + "</answer>"
    for separator in SEPARATORS:
        yield f"list {separator!r}", "<answer>" + _repeat("1" + separator, min(size, 1990)) + "</answer>"
        yield f"long {separator!r}", _repeat("x" + separator, size) + "\\boxed{1}"
    for atom in ATOMS:  # an answer of the longest gradable size built from one expensive piece
        yield f"product of {atom!r}", "<answer>" + _repeat(atom + " \\cdot ", 1990) + "</answer>"
    yield "digits", "<answer>" + "9" * size + "</answer>"
    yield "short digits", "<answer>" + "9" * min(size, 1990) + "</answer>"
    yield "repeating decimal", "\\boxed{0." + "3" * min(size, 1990) + "}"
    yield "exponent", "\\boxed{10^{" + "9" * min(size, 1990) + "}}"
    yield "tags", _repeat("<answer>1</answer>", size)
    yield "mixed", _repeat("".join(PIECES), size)


def in_process_seconds(response: str, gold: object, **kwargs: object) -> float:
    """CPU seconds this process spends on ``compute_score`` for one response (module doc)."""
    from deepscaler_grpo.reward.scoring import compute_score

    start = time.process_time()
    compute_score("adversarial", response, gold, **kwargs)
    return time.process_time() - start
