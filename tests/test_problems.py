"""deepscaler_grpo.problems: the row contract every stage reads, and the one benchmark table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepscaler_grpo.problems import Problem, accepted_answers, benchmarks, find_benchmark


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"answer": "1", "reward_model": {"ground_truth": ["1", "x=1"]}}, ["1", "x=1"]),  # every accepted answer
        ({"answer": "1", "reward_model": {"ground_truth": None}}, ["1"]),
        ({"answer": 142.0}, ["142"]),
        ({"final_answer": ["$3$"]}, ["3"]),
        ({"ground_truth": "7", "answer": "8"}, ["7"]),
        ({"question": "q"}, []),
    ],
)
def test_accepted_answers(row: dict, expected: list[str]) -> None:
    assert accepted_answers(row) == expected


def test_problem_from_prepared_and_raw_rows() -> None:
    prompt = [{"role": "user", "content": "Q <answer>"}]
    prepared = Problem.from_row({"problem": "Q", "prompt": prompt, "answer": "2",
                                 "reward_model": {"ground_truth": ["2", "two"]}})
    assert prepared is not None and prepared.messages == prompt and prepared.ground_truth == ["2", "two"]
    raw = Problem.from_row({"question": "What is 1+1?", "answer": "2"})
    assert raw is not None and "What is 1+1?" in raw.messages[-1]["content"] and "<answer>" in raw.messages[-1]["content"]
    assert Problem.from_row({"problem": "no answer"}) is None


def test_aliases_resolve_to_one_benchmark() -> None:
    assert find_benchmark("aime2024") == benchmarks()["aime24"]
    assert find_benchmark("AMC2023").name == "amc23" and find_benchmark("amc").size == 83
    assert find_benchmark("nope") is None


def test_prepare_and_eval_resolve_a_name_to_the_same_problems(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set eval scores on is the set prepare decontaminated against: same name, same problems."""
    from deepscaler_grpo.data.evalsets import load_eval_sets
    from deepscaler_grpo.evaluation.benchmarks import load_problems

    monkeypatch.setenv("DEEPSCALER_SHARED_DATA", str(shared_data))
    monkeypatch.setattr("deepscaler_grpo.problems.hub_available", lambda: False)  # both take the local mirror
    for name, alias in (("aime24", "aime2024"), ("amc", "amc"), ("math500", "math500")):
        (decontam,), skipped = load_eval_sets([alias])
        assert not skipped and decontam.name == name
        evaluated = [p.problem for p in load_problems(name)]
        assert list(decontam.problems) == evaluated and len(evaluated) == benchmarks()[name].size


def test_score_grades_a_multi_answer_row_against_every_accepted_answer(tmp_path: Path) -> None:
    """score used to try ``answer`` first, grading a multi-answer row against its first answer only."""
    from deepscaler_grpo.reward.cli import main

    rows = [
        {"response": "<answer>-2</answer>", "answer": "2", "reward_model": {"ground_truth": ["2", "-2"]}},
        {"response": "<answer>2</answer>", "answer": "2", "reward_model": {"ground_truth": ["2", "-2"]}},
        {"response": "<answer>3</answer>", "answer": "2", "reward_model": {"ground_truth": ["2", "-2"]}},
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main([str(path), "--no-progress"]) == 0
    scored = [json.loads(line) for line in (tmp_path / "r.scored.jsonl").read_text().splitlines()]
    assert [r["score"] for r in scored] == [1.0, 1.0, 0.0]
