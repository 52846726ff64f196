"""Tests for deepscaler_grpo.data: answers, prompts, loading, cleaning, the prepare CLI and its outputs."""

from __future__ import annotations

import errno
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from deepscaler_grpo.data import DEFAULT_INSTRUCTION, DataError, load_records, make_prompt, normalize_answer
from deepscaler_grpo.data.clean import (
    Decontaminator,
    answer_type,
    dedup_key,
    fuzzy_duplicates,
    ngram_hash_sets,
    word_ids,
)
from deepscaler_grpo.data.cli import main
from deepscaler_grpo.data.evalsets import load_eval_sets
from deepscaler_grpo.data.pipeline import deduplicate, normalize_rows

OUTPUTS = {"train.parquet", "val.parquet", "prepare_report.json"}


def write_json(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows))
    return path


def problems(n: int, start: int = 0) -> list[dict]:
    """Distinct made-up problems with integer answers."""
    return [
        {"problem": f"Compute {i} times {i + 7} plus the {i}-th prime.", "answer": str(i * (i + 7))}
        for i in range(start, start + n)
    ]


def prepare(tmp_path: Path, *args: str, out: str = "out") -> tuple[int, Path]:
    output = tmp_path / out
    code = main([*args, "--output-dir", str(output), "--no-progress"])
    return code, output


def report_of(output: Path) -> dict:
    return json.loads((output / "prepare_report.json").read_text())


# --- answers and prompts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (142.0, "142"),
        (-3.0, "-3"),
        (2.5, "2.5"),
        (1e-7, "0.0000001"),
        (7, "7"),
        (np.int64(12), "12"),
        (np.float64(0.25), "0.25"),
        ("  \\frac{1}{2}\n", "\\frac{1}{2}"),
        ("$2n-2$", "2n-2"),
        ("", None),
        ("   ", None),
        (None, None),
        (float("nan"), None),
        (["0.01\n", "0.02\n"], ["0.01", "0.02"]),
        (["7.5 \\times 10^7", "7.5 \\times 10^7\n"], ["7.5 \\times 10^7"]),
        (np.array(["3", "3.0"]), ["3", "3.0"]),
        ((1.0, None, ""), ["1"]),
        ([], None),
        ([None, " "], None),
    ],
)
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected


def test_make_prompt_default_and_system():
    messages = make_prompt("What is $1+1$?")
    assert messages == [{"role": "user", "content": DEFAULT_INSTRUCTION.replace("{problem}", "What is $1+1$?")}]
    assert "<answer>" in messages[0]["content"] and "</answer>" in messages[0]["content"]
    with_system = make_prompt("P", "Solve: {problem} Put it in \\boxed{}.", system_prompt="Be brief.")
    assert with_system == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Solve: P Put it in \\boxed{}."},
    ]


# --- loading --------------------------------------------------------------------------------------


def test_load_records_formats_and_mapping(tmp_path):
    rows = [{"question": "Q1", "final": 1.0, "sol": "S1"}, {"question": "Q2", "final": 2.5}]
    json_list = write_json(tmp_path / "a.json", rows)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    json_lines_named_json = tmp_path / "lines.json"
    json_lines_named_json.write_text(jsonl.read_text())
    parquet = tmp_path / "a.parquet"
    pd.DataFrame(rows).to_parquet(parquet)
    for path in (json_list, jsonl, json_lines_named_json, parquet):
        loaded = load_records(str(path), problem_key="question", answer_key="final", solution_key="sol")
        assert [r["problem"] for r in loaded] == ["Q1", "Q2"], path
        assert normalize_answer(loaded[0]["answer"]) == "1"
        assert loaded[0]["solution"] == "S1"
        assert loaded[1]["solution"] is None or (
            isinstance(loaded[1]["solution"], float) and math.isnan(loaded[1]["solution"])
        )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.json", None, "input file not found"),
        ("bad.json", '[{"problem": 1,', "is not valid JSON (line 1"),
        ("bad.jsonl", '{"problem": "a", "answer": 1}\nnot json\n', "neither a JSON list nor valid JSON lines (line 2"),
        ("empty.json", "", "is empty"),
        ("scalars.json", "[1, 2]", "record 0 is a number, expected an object"),
        ("bad.parquet", "PAR1 garbage", "cannot read"),
        ("data.csv", "problem,answer\n", "unsupported file type '.csv'"),
    ],
)
def test_load_records_bad_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=None) as info:
        load_records(str(path))
    assert message in str(info.value)


def test_load_records_missing_columns_lists_found(tmp_path):
    path = write_json(tmp_path / "q.json", [{"question": "Q", "solution": "S"}])
    with pytest.raises(DataError) as info:
        load_records(str(path))
    message = str(info.value)
    assert "missing required column(s) 'problem' (--problem-key), 'answer' (--answer-key)" in message
    assert "columns found: 'question', 'solution'" in message


def test_load_records_unreachable_dataset_suggests_local_file():
    with pytest.raises(DataError) as info:
        load_records("no-such-org/no-such-dataset-xyz")
    assert "could not load Hugging Face dataset 'no-such-org/no-such-dataset-xyz'" in str(info.value)
    assert "pass a local file" in str(info.value) and "HF_HUB_OFFLINE=1" in str(info.value)


# --- cleaning -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Find $x$ if $x+1=2$.", "find  x if x + 1 = 2", True),
        ("Compute \\dfrac{1}{2}+\\left(3\\right).", "Compute $\\frac{1}{2} + (3)$", True),
        ("What is 2\\,000 + 1?", "What is 2 000+1 ?", True),
        ("Find $x$ if $x+1=2$.", "Find $x$ if $x+1=3$.", False),
        ("How many primes are below 10?", "How many primes are below 100?", False),
    ],
)
def test_dedup_key(a, b, same):
    assert (dedup_key(a) == dedup_key(b)) is same


def test_normalize_and_deduplicate_counts():
    raw = [
        {"problem": "  Compute 1+1.  ", "answer": 2.0},
        {"problem": "Compute 1+1.", "answer": "2"},  # exact duplicate after trimming
        {"problem": "compute 1 + 1", "answer": "3"},  # near duplicate, conflicting answer
        {"problem": "Compute 2+2.", "answer": None},  # missing answer
        {"problem": "", "answer": "1"},  # missing problem
        {"problem": "Name a root of x^2=1.", "answer": ["1", "-1"]},
    ]
    rows, drops, changes = normalize_rows(raw, "made")
    assert drops == {"missing_answer": 1, "missing_problem": 1}
    assert changes["whitespace_trimmed"] == 1 and changes["answer_normalized"] == 1
    assert rows[0] == {
        "problem": "Compute 1+1.",
        "answer": "2",
        "solution": "",
        "data_source": "made",
        "key": "compute 1 1",
        "ids": word_ids(["compute 1 1"])[0],
    }
    kept, dup = deduplicate(rows)
    assert dup == {"exact_duplicate": 1, "near_duplicate": 1, "answer_conflicts": 1}
    assert [r["answer"] for r in kept] == ["2", ["1", "-1"]]


def test_fuzzy_duplicates_need_similar_text_and_same_answer():
    base = (
        "Twelve congruent disks are placed on a circle of radius 1 so that the twelve disks cover the "
        "circle, no two disks overlap and each disk is tangent to its two neighbors. Find the total area."
    )
    keys = word_ids(
        [
            dedup_key(t)
            for t in (
                base,
                base.replace("Twelve congruent", "Twelve congruent, identical"),  # same problem, reworded a bit
                base.replace("radius 1", "radius 2"),  # different problem
                "What is the sum of the first 100 positive integers?",
            )
        ]
    )
    assert fuzzy_duplicates(keys, ["135", "135", "540", "5050"]) == [None, 0, None, None]
    assert fuzzy_duplicates(keys, ["135", "136", "540", "5050"]) == [None, None, None, None]
    assert fuzzy_duplicates(keys, ["135", "135", "540", "5050"], threshold=0.99) == [None] * 4


def test_ngram_hash_sets_share_equal_windows_only():
    a, b, short, empty = ngram_hash_sets([[1, 2, 3, 4], [9, 2, 3, 4, 5], [1, 2], []], 3)
    assert len(a) == 2 and len(b) == 3 and len(a & b) == 1  # only (2, 3, 4) is shared
    assert len(short) == 1 and not short & a and empty == set()
    assert ngram_hash_sets([[1, 2, 3, 4]], 3)[0] == a  # independent of the other documents


BOILERPLATE = (
    " The answer can be written as $\\frac{m}{n}$, where $m$ and $n$ are relatively prime positive integers."
    " Find $m+n$."
)


def test_decontaminator_ignores_boilerplate_and_catches_copies():
    eval_problem = (
        "A bug walks on the edges of a regular octahedron starting at the top vertex, choosing "
        "each neighbouring vertex with equal probability. Find the probability it returns after "
        "six moves." + BOILERPLATE
    )
    unrelated = [
        f"Let {c} be a real number with {c}^2 = {i}. The probability that a die shows {i} is the "
        f"value asked." + BOILERPLATE
        for i, c in enumerate("abcdefgh")
    ]
    decon = Decontaminator({"aime": [eval_problem, "Compute $\\dbinom{8}{4}$."]})
    reworded = eval_problem.replace("The answer can be written", "It equals").replace("bug", "an ant")
    flags = decon.flag([*unrelated, reworded, "compute \\dbinom{8}{4}", "Compute $\\dbinom{9}{4}$."])
    assert flags == [None] * len(unrelated) + ["aime", "aime", None]


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("142", "integer"),
        ("-7", "integer"),
        ("1,000", "integer"),
        ("2.5", "decimal"),
        (".3", "decimal"),
        ("\\frac{3}{4}", "fraction"),
        ("-\\dfrac12", "fraction"),
        ("3/4", "fraction"),
        ("\\sqrt{2}+1", "expression"),
        ("(3, -1)", "expression"),
        ("x", "expression"),
        (["0.01", "0.02"], "list"),
        (["5"], "integer"),
        ("\\text{Friday}", "text"),
        ("\\text{(C)}", "text"),
        ("(D)", "text"),
        ("odd", "text"),
    ],
)
def test_answer_type(answer, kind):
    assert answer_type(answer) == kind


def test_known_eval_set_falls_back_to_local_copy_or_skips(tmp_path):
    write_json(tmp_path / "test_aime.json", problems(3))
    loaded, skipped = load_eval_sets(["aime2024", "math500"], use_hub=False, search_dirs=[tmp_path])
    assert [(s.name, len(s.problems)) for s in loaded] == [("aime24", 3)]
    assert "using the local copy" in loaded[0].note
    assert skipped[0]["name"] == "math500"
    assert "--decontaminate-with math500=path/to/test_math.json" in skipped[0]["reason"]


# --- the prepare CLI ------------------------------------------------------------------------------


def test_prepare_counts_split_and_round_trip(tmp_path):
    rows = problems(40) + [
        {"problem": "Compute 3 times 10 plus the 3-th prime. ", "answer": 30.0},  # exact dup after trim
        {"problem": "compute 4 times 11 plus the 4 th prime", "answer": "44"},  # near dup
        {"problem": "What is 6 * 7?", "answer": None},  # missing answer
        {"problem": "Which numbers square to 4?", "answer": ["2", "-2"], "solution": "Both."},
        {"problem": "What day follows Monday?", "answer": "\\text{Tuesday}", "solution": None},
    ]
    source = write_json(tmp_path / "made.json", rows)
    evalset = write_json(tmp_path / "eval.json", [{"problem": rows[5]["problem"], "answer": "x"}])
    code, out = prepare(
        tmp_path,
        "--source",
        str(source),
        "--val-size",
        "0.1",
        "--seed",
        "3",
        "--decontaminate-with",
        f"evalx={evalset}",
        "--system-prompt",
        "Think.",
    )
    assert code == 0 and {p.name for p in out.iterdir()} == OUTPUTS
    report = report_of(out)
    counts = report["counts"]["source"]
    assert counts["input"] == 45
    assert {k: v for k, v in counts["dropped"].items() if v} == {
        "missing_answer": 1,
        "exact_duplicate": 1,
        "near_duplicate": 1,
        "contaminated": 1,
    }
    assert counts["input"] == counts["kept"] + sum(counts["dropped"].values())
    assert report["outputs"] == {"train": 37, "val": 4}
    assert report["decontamination"]["sets"][0]["removed"] == 1
    assert report["ground_truth_type"] == "list[str]"
    assert report["answer_types"]["train"]["list"] + report["answer_types"]["val"]["list"] == 1
    assert report["prompt_length"]["chars"]["max"] >= report["prompt_length"]["chars"]["p50"] > 0

    train = pd.read_parquet(out / "train.parquet")
    val = pd.read_parquet(out / "val.parquet")
    assert list(train.columns) == [
        "problem",
        "answer",
        "solution",
        "prompt",
        "data_source",
        "ability",
        "reward_model",
        "extra_info",
    ]
    assert set(train.problem).isdisjoint(val.problem) and rows[5]["problem"] not in set(train.problem)
    both = pd.concat([train, val])
    square = both[both.problem == "Which numbers square to 4?"].iloc[0]
    assert square.answer == "2" and list(square.reward_model["ground_truth"]) == ["2", "-2"]
    assert square.solution == "Both."
    first = train.iloc[0]
    assert first.data_source == "made" and first.ability == "math"
    assert [dict(m) for m in first.prompt] == make_prompt(first.problem, system_prompt="Think.")
    assert first.reward_model["style"] == "rule" and list(first.reward_model["ground_truth"]) == [first.answer]
    assert list(train.extra_info.map(lambda e: e["index"])) == list(range(len(train)))
    assert set(train.extra_info.map(lambda e: e["split"])) == {"train"}
    assert set(val.extra_info.map(lambda e: e["split"])) == {"val"}

    import datasets

    loaded = datasets.load_dataset("parquet", data_files={"train": str(out / "train.parquet")})["train"]
    assert len(loaded) == 37
    record = loaded[0]
    assert isinstance(record["problem"], str) and isinstance(record["answer"], str)
    assert record["prompt"][-1]["role"] == "user" and "<answer>" in record["prompt"][-1]["content"]
    assert record["reward_model"] == {"style": "rule", "ground_truth": [record["answer"]]}
    assert record["extra_info"] == {"index": 0, "split": "train"}


def test_prepare_string_ground_truth_and_same_seed_same_split(tmp_path):
    source = write_json(tmp_path / "s.json", problems(30))
    args = ("--source", str(source), "--no-decontaminate", "--val-size", "5")
    assert prepare(tmp_path, *args, out="a")[0] == 0
    assert prepare(tmp_path, *args, out="b")[0] == 0
    table = pq.read_table(tmp_path / "a" / "val.parquet")
    assert str(table.schema.field("reward_model").type) == "struct<style: string, ground_truth: string>"
    assert table.column("extra_info").type.field("index").type == "int64"
    first = pd.read_parquet(tmp_path / "a" / "val.parquet")
    assert len(first) == 5 and first.equals(pd.read_parquet(tmp_path / "b" / "val.parquet"))
    assert report_of(tmp_path / "a")["ground_truth_type"] == "str"


def test_prepare_val_source_removes_overlap(tmp_path):
    source = write_json(tmp_path / "train.jsonl", [])
    source.write_text("\n".join(json.dumps(r) for r in problems(20)))
    val = write_json(tmp_path / "val.json", problems(5, start=18))  # 2 shared with train
    code, out = prepare(tmp_path, "--source", str(source), "--val-source", str(val), "--no-decontaminate")
    assert code == 0
    report = report_of(out)
    assert report["counts"]["source"]["dropped"]["overlaps_val"] == 2
    assert report["outputs"] == {"train": 18, "val": 5}
    assert report["counts"]["val_source"]["input"] == 5
    assert set(pd.read_parquet(out / "val.parquet").data_source) == {"val"}


def test_prepare_instruction_file_and_data_source(tmp_path):
    source = write_json(tmp_path / "s.json", problems(10))
    template = tmp_path / "template.txt"
    template.write_text("Problem: {problem}\nAnswer in <answer></answer>.")
    code, out = prepare(
        tmp_path,
        "--source",
        str(source),
        "--no-decontaminate",
        "--instruction",
        f"@{template}",
        "--data-source",
        "mine",
        "--val-size",
        "0",
    )
    assert code == 0
    train = pd.read_parquet(out / "train.parquet")
    assert len(train) == 10 and len(pd.read_parquet(out / "val.parquet")) == 0
    assert train.prompt[0][0]["content"] == f"Problem: {train.problem[0]}\nAnswer in <answer></answer>."
    assert set(train.data_source) == {"mine"}


@pytest.mark.slow
def test_prepare_max_prompt_length_with_tiny_tokenizer(tmp_path, tiny_model_dir):
    rows = problems(12) + [{"problem": "Compute the sum " + " + ".join(map(str, range(300))), "answer": "44850"}]
    source = write_json(tmp_path / "s.json", rows)
    args = ["--source", str(source), "--no-decontaminate", "--val-size", "2", "--tokenizer", str(tiny_model_dir)]
    code, out = prepare(tmp_path, *args, "--max-prompt-length", "400")
    assert code == 0
    report = report_of(out)
    assert report["counts"]["source"]["dropped"]["too_long"] == 1
    tokens = report["prompt_length"]["tokens"]
    assert 0 < tokens["p50"] <= tokens["max"] <= 400
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    train = pd.read_parquet(out / "train.parquet")
    texts = tokenizer.apply_chat_template(
        [[dict(m) for m in p] for p in train.prompt], tokenize=False, add_generation_prompt=True
    )
    counts = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert max(counts) == tokens["max"] and report["prompt_tokens_measured_on"] == 12
    assert all(n <= len(text.encode()) for n, text in zip(counts, texts))  # the bound measure_lengths uses

    code, sampled = prepare(tmp_path, *args, "--max-prompt-length", "400", "--token-stats-sample", "3", out="sampled")
    assert code == 0 and report_of(sampled)["counts"]["source"]["dropped"]["too_long"] == 1
    assert report_of(sampled)["prompt_tokens_measured_on"] <= 3


# --- bad input: clear error, non-zero exit, nothing written ---------------------------------------


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: ["--source", str(d / "nope.json")], "input file not found"),
        (
            lambda d: ["--source", str(write_json(d / "c.json", [{"question": "q", "answer": 1}]))],
            "missing required column(s) 'problem' (--problem-key); columns found: 'answer', 'question'",
        ),
        (
            lambda d: ["--source", str(write_json(d / "n.json", [{"problem": "q", "answer": None}]))],
            "no training rows left after cleaning: 1 loaded, removed 1 by rows without an answer: check --answer-key",
        ),
        (
            lambda d: ["--source", str(write_json(d / "s.json", problems(3))), "--instruction", "no placeholder"],
            "--instruction must contain the placeholder {problem}",
        ),
        (
            lambda d: ["--source", str(write_json(d / "s.json", problems(3))), "--val-size", "3"],
            "--val-size 3 leaves no training rows",
        ),
        (
            lambda d: ["--source", str(write_json(d / "s.json", problems(3))), "--fuzzy-threshold", "1.5"],
            "--fuzzy-threshold must be in [0, 1]",
        ),
        (
            lambda d: ["--source", str(write_json(d / "s.json", problems(3))), "--max-prompt-length", "9"],
            "--max-prompt-length needs --tokenizer",
        ),
        (
            lambda d: ["--source", str(write_json(d / "s.json", problems(3))), "--instruction", "@/no/such/file"],
            "cannot read @/no/such/file",
        ),
        (
            lambda d: [
                "--source",
                str(write_json(d / "s.json", problems(3))),
                "--decontaminate-with",
                str(d / "missing_eval.json"),
            ],
            "input file not found",
        ),
    ],
)
def test_prepare_errors_write_nothing(tmp_path, capsys, make_args, message):
    args = make_args(tmp_path)
    if "--decontaminate-with" not in args:
        args.append("--no-decontaminate")
    code, out = prepare(tmp_path, *args)
    assert code == 2  # bad input: the usage exit code
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_prepare_refuses_to_overwrite_then_overwrites(tmp_path, capsys):
    source = write_json(tmp_path / "s.json", problems(10))
    assert prepare(tmp_path, "--source", str(source), "--no-decontaminate")[0] == 0
    before = (tmp_path / "out" / "train.parquet").read_bytes()
    smaller = write_json(tmp_path / "t.json", problems(6))
    code, out = prepare(tmp_path, "--source", str(smaller), "--no-decontaminate")
    assert code == 2  # bad input: the usage exit code
    assert "already has train.parquet, val.parquet, prepare_report.json; pass --overwrite" in capsys.readouterr().err
    assert (out / "train.parquet").read_bytes() == before
    assert prepare(tmp_path, "--source", str(smaller), "--no-decontaminate", "--overwrite")[0] == 0
    assert report_of(out)["outputs"]["train"] + report_of(out)["outputs"]["val"] == 6
    assert {p.name for p in out.iterdir()} == OUTPUTS


def test_prepare_crash_while_writing_leaves_old_outputs(tmp_path, monkeypatch, capsys):
    """A full disk while writing: the old outputs stay, and the user gets one line (exit 2), not ENOSPC's traceback."""
    source = write_json(tmp_path / "s.json", problems(10))
    assert prepare(tmp_path, "--source", str(source), "--no-decontaminate")[0] == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    calls = []

    def failing_write(table, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return original(table, path, *args, **kwargs)

    original = pq.write_table
    monkeypatch.setattr(pq, "write_table", failing_write)
    capsys.readouterr()
    code, _ = prepare(tmp_path, "--source", str(source), "--no-decontaminate", "--overwrite", "--val-size", "4")
    err = capsys.readouterr().err
    assert code == 2 and "no space left on the device; free some space or choose another disk" in err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


# --- the real DeepScaleR files --------------------------------------------------------------------


@pytest.mark.slow
def test_prepare_real_files_decontaminated(tmp_path, shared_data):
    contaminated = json.loads((shared_data / "test_aime.json").read_text())[:3]
    extra = write_json(
        tmp_path / "leak.json", [{"problem": r["problem"] + "  ", "answer": r["answer"]} for r in contaminated]
    )
    evals = [f"{name}={shared_data / f'test_{name}.json'}" for name in ("aime", "amc", "math")]
    code, out = prepare(
        tmp_path,
        "--source",
        str(shared_data / "train_math.json"),
        str(shared_data / "train_aime.json"),
        str(extra),
        "--decontaminate-with",
        *evals,
    )
    assert code == 0
    report = report_of(out)
    counts = report["counts"]["source"]
    assert counts["input"] == 7474 + 975 + 3
    assert counts["input"] == counts["kept"] + sum(counts["dropped"].values())
    assert counts["kept"] == report["outputs"]["train"] + report["outputs"]["val"]
    assert counts["dropped"]["missing_answer"] >= 2  # train_math has two null answers
    removed = {s["name"]: s["removed"] for s in report["decontamination"]["sets"]}
    assert removed["aime"] == 3 and removed["math"] > 0
    assert sum(removed.values()) == counts["dropped"]["contaminated"]
    assert report["outputs"]["val"] == min(500, round(0.05 * counts["kept"]))
    train = pd.read_parquet(out / "train.parquet")
    assert not {dedup_key(r["problem"]) for r in contaminated} & set(train.problem.map(dedup_key))
    assert train.answer.map(type).eq(str).all() and (train.answer != "").all()
    assert sum(report["answer_types"]["train"].values()) == len(train)


# --- Hugging Face sources (the Hub itself is never reached in tests) ------------------------------


def test_load_records_from_hf_dataset_name(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(name, split):
        calls.append((name, split))
        return datasets.Dataset.from_list([{"question": "Q", "answer": 3.0, "solution": "S"}])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    rows = load_records("org/some-dataset", problem_key="question", split="test")
    assert calls == [("org/some-dataset", "test")]
    assert rows == [{"problem": "Q", "answer": 3.0, "solution": "S"}]


def test_cli_goes_offline_when_hub_unreachable(tmp_path, monkeypatch, capsys):
    import deepscaler_grpo.data.cli as prepare_module

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(prepare_module, "hub_reachable", lambda: False)
    code, _ = prepare(tmp_path, "--source", "org/unreachable-dataset", "--no-decontaminate")
    assert code == 2  # bad input: the usage exit code
    err = capsys.readouterr().err
    assert "the Hugging Face Hub is unreachable; using only locally cached datasets" in err
    assert "could not load Hugging Face dataset 'org/unreachable-dataset'" in err
    assert os.environ["HF_HUB_OFFLINE"] == "1"


# --- odd input files: say what the file holds and what it should hold -----------------------------


def _one_object(path: Path) -> Path:
    path.write_text(json.dumps({"problem": "What is 1+1?", "answer": "2"}))
    return path


def _wrapped(path: Path) -> Path:
    path.write_text(json.dumps({"data": problems(3)}))
    return path


def _empty_parquet(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"problem": pa.array([], pa.string()), "answer": pa.array([], pa.string())}), path)
    return path


@pytest.mark.parametrize(
    ("make", "name", "message"),
    [
        (_one_object, "one.json", "holds a single JSON object (keys 'problem', 'answer'), not a list of problems"),
        (_wrapped, "wrapped.json", "holds one JSON object whose 'data' field is a list of 3 records"),
        (_empty_parquet, "empty.parquet", "holds 0 rows (columns: problem, answer)"),
    ],
)
def test_odd_files_say_what_they_hold(tmp_path, capsys, make, name, message):
    code, out = prepare(tmp_path, "--source", str(make(tmp_path / name)), "--no-decontaminate")
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (out / "train.parquet").exists()


def test_every_row_removed_names_the_step(tmp_path, capsys):
    rows = problems(6)
    source = write_json(tmp_path / "src.json", rows)
    evalset = write_json(tmp_path / "eval.json", rows)
    code, _ = prepare(tmp_path, "--source", str(source), "--decontaminate-with", str(evalset), "--val-size", "2")
    err = capsys.readouterr().err
    assert code == 2
    assert "removed 6 by decontamination against the evaluation sets" in err and "--val-size" not in err


def test_empty_validation_split_is_warned(tmp_path, capsys):
    code, out = prepare(tmp_path, "--source", str(write_json(tmp_path / "one.json", problems(1))), "--no-decontaminate")
    assert code == 0 and "the validation split is empty" in capsys.readouterr().err
