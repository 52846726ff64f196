"""Helpers for the ``(gold, pred, expected)`` tables of the reward tests (imported by the test modules)."""

from __future__ import annotations

Row = tuple[str, str, bool]


def both_ways(rows: list[Row]) -> list[Row]:
    """Each row and its mirror (pred as gold): for relations that are symmetric."""
    return rows + [(pred, gold, expected) for gold, pred, expected in rows]
