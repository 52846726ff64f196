"""Helpers for the ``(gold, pred, expected)`` tables of the reward tests (imported by the test modules)."""

from __future__ import annotations

Row = tuple[str, str, bool]


def both_ways(rows: list[Row]) -> list[Row]:
    """Each row and its mirror (pred as gold): for relations that are symmetric."""
    return rows + [(pred, gold, expected) for gold, pred, expected in rows]


def assert_graded(gold: str, pred: str, expected: bool, **kwargs: object) -> None:
    """``check(pred, gold, **kwargs)`` decides ``expected``; the Verdict is in the failure message."""
    from deepscaler_grpo.reward import check

    verdict = check(pred, gold, **kwargs)  # type: ignore[arg-type]
    assert verdict.correct is expected, (gold, pred, verdict)


def assert_rounding(gold: str, pred: str, expected: bool, digits: int, exact: bool = False) -> None:
    """At ``digits`` the row holds as written; under ``VerifierPolicy.strict()`` only ``exact`` rows stay equal."""
    from deepscaler_grpo.reward import VerifierPolicy

    assert_graded(gold, pred, expected, policy=VerifierPolicy(decimal_digits=digits))
    assert_graded(gold, pred, expected and exact, policy=VerifierPolicy.strict())
