"""The real answer formats in ../shared/data/deepscaler (skipped when the folder is absent)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from deepscaler_grpo.reward import check_many, compute_score, gold_strings, verify

TEST_FILES = ["test_aime.json", "test_amc.json", "test_math.json", "test_minerva.json", "test_olympiad_bench.json"]


def _rows(shared_data: Path, name: str) -> list[dict]:
    return [r for r in json.loads((shared_data / name).read_text()) if r.get("answer") is not None]


@pytest.mark.parametrize("name", TEST_FILES)
def test_every_gold_answer_verifies_against_itself(shared_data: Path, name: str) -> None:
    rows = _rows(shared_data, name)
    golds = [gold_strings(r["answer"])[0] for r in rows]
    tagged = check_many(golds, [r["answer"] for r in rows])
    assert all(v.correct for v in tagged), [g for g, v in zip(golds, tagged) if not v.correct][:5]
    boxed = [compute_score(name, f"Thus \\boxed{{{g}}}.", r["answer"]) for g, r in zip(golds, rows)]
    assert all(b["acc"] for b in boxed)


@pytest.mark.parametrize("name", ["test_aime.json", "test_amc.json", "test_math.json"])
def test_integer_answers_reject_off_by_one(shared_data: Path, name: str) -> None:
    rows = [r for r in _rows(shared_data, name) if re.fullmatch(r"-?\d+", gold_strings(r["answer"])[0])]
    assert rows
    for row in rows:
        value = int(gold_strings(row["answer"])[0])
        assert not verify(str(value + 1), row["answer"])
        assert verify(f"{value:,}", row["answer"])


def test_amc_float_answers(shared_data: Path) -> None:
    row = _rows(shared_data, "test_amc.json")[0]
    assert isinstance(row["answer"], float)
    value = int(row["answer"])
    assert compute_score("amc", f"<answer>{value}</answer>", row["answer"])["score"] == 1.0
    assert compute_score("amc", f"<answer>{value + 1}</answer>", row["answer"])["score"] == 0.0


def test_aime_leading_zero_answers(shared_data: Path) -> None:
    padded = [r for r in _rows(shared_data, "test_aime.json") if r["answer"].startswith("0")]
    assert padded
    for row in padded:
        assert verify(str(int(row["answer"])), row["answer"])


def test_minerva_list_answers_accept_any_element(shared_data: Path) -> None:
    rows = [r for r in _rows(shared_data, "test_minerva.json") if len(r["answer"]) > 1]
    assert rows
    for row in rows[:20]:
        for gold in gold_strings(row["answer"]):
            assert verify(gold, row["answer"])


def test_olympiad_multiple_answers_are_unordered(shared_data: Path) -> None:
    rows = [r for r in _rows(shared_data, "test_olympiad_bench.json") if r.get("is_multiple_answer")]
    simple = [gold_strings(r["answer"])[0] for r in rows]
    simple = [g for g in simple if re.fullmatch(r"[-\d.,\s]+|[-\d\\{}frac,\s]+", g) and "," in g]
    assert simple
    for gold in simple[:20]:
        reordered = ",".join(reversed(gold.split(",")))
        assert verify(reordered, gold), gold


def test_human_written_final_answers_match_their_gold(shared_data: Path) -> None:
    """Real equivalent pairs: the last \\boxed{} of each AIME solution against the gold answer.

    Solutions write answers differently from the gold (``\\textbf{(051)}`` for ``051``,
    ``0{,}5``...); every AIME pair must verify.
    """
    from deepscaler_grpo.reward.extract import last_boxed

    rows = [r for r in _rows(shared_data, "train_aime.json") if last_boxed(r.get("solution") or "")]
    assert len(rows) > 900
    verdicts = check_many([last_boxed(r["solution"]) for r in rows], [r["answer"] for r in rows])
    wrong = [(last_boxed(r["solution"]), r["answer"]) for r, v in zip(rows, verdicts) if not v.correct]
    assert not wrong, wrong[:5]
