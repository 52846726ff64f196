"""deepscaler_grpo.evaluation.benchmarks: --benchmarks specs to problems (files, names, aliases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.evaluation import benchmarks as ev

# ---------------------------------------------------------------------------------- loading


def test_load_benchmark_real_files(shared_data: Path) -> None:
    amc = ev.load_problems(str(shared_data / "test_amc.json"))
    assert len(amc) == 83 and amc[0].ground_truth == "142"  # float 142.0 normalized
    assert amc[0].messages[-1]["role"] == "user" and amc[0].problem in amc[0].messages[-1]["content"]
    minerva = ev.load_problems(f"minerva={shared_data / 'test_minerva.json'}", limit=5)
    assert len(minerva) == 5 and minerva[0].answers == ("9.6",)
    olympiad = ev.load_problems(str(shared_data / "test_olympiad_bench.json"), limit=3)
    assert all(len(p.answers) >= 1 for p in olympiad)
    assert len(ev.load_problems(str(shared_data / "test_aime.json"))) == 30


def test_load_benchmark_parquet_with_prompt_and_ground_truth(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    prompt = [{"role": "system", "content": "sys"}, {"role": "user", "content": "Q1 <answer>"}]
    table = pa.Table.from_pylist(
        [
            {"problem": "Q1", "answer": "2", "prompt": prompt, "reward_model": {"ground_truth": ["2", "two"]}},
            {"problem": "Q2", "answer": "", "prompt": prompt, "reward_model": {"ground_truth": None}},
        ]
    )
    pq.write_table(table, tmp_path / "val.parquet")
    rows = ev.load_problems(str(tmp_path / "val.parquet"))
    assert len(rows) == 1  # the row without an answer is dropped
    assert rows[0].messages == prompt and rows[0].ground_truth == ["2", "two"]


def test_load_benchmark_column_aliases_and_specs(tmp_path: Path) -> None:
    path = tmp_path / "olymp.jsonl"
    path.write_text(json.dumps({"question": "Q?", "final_answer": ["$3$"]}) + "\n")
    rows = ev.load_problems(f"olymp={path}")
    assert rows[0].problem == "Q?" and rows[0].ground_truth == "3"
    assert ev.parse_benchmark_spec(str(path)) == ("olymp", str(path))
    assert ev.parse_benchmark_spec("AIME24") == ("aime24", "aime24")
    assert ev.parse_benchmark_spec("aime2024") == ("aime24", "aime24")  # prepare's old spelling is an alias
    assert ev.parse_benchmark_spec("amc2023") == ("amc23", "amc23")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("does/not/exist.json", "benchmark file not found"),
        ("amc23", "--benchmarks amc23=FILE.json"),  # offline Hub, no local mirror: say how to pass a file
        ("=x.json", "use NAME=PATH"),
    ],
)
def test_load_benchmark_errors(spec: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("DEEPSCALER_SHARED_DATA", "/nonexistent")
    with pytest.raises(UserError, match=message.replace(".", r"\.")):
        ev.load_problems(spec)


# -------------------------------------------------------------------------------------- CLI

