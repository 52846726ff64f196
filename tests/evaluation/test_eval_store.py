"""The eval output folder (deepscaler_grpo.evaluation.store): batches appended whole, torn batches dropped, other
settings refused; and ``eval`` killed with SIGKILL mid-run resumes with no response lost or duplicated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepscaler_grpo.evaluation import cli as ev
from deepscaler_grpo.evaluation.store import EvalStore, StoreError, plan_batches, responses_file
from deepscaler_grpo.io import read_jsonl
from tests.helpers import REPO

SETTINGS = {"model": "abc", "adapter": None, "backend": "hf", "dtype": "float32", "n": 2, "temperature": 0.7,
            "top_p": 1.0, "max_tokens": 8, "seed": 0, "benchmarks": {"toy": "p1"}}


def started(folder: Path, settings: dict = SETTINGS) -> EvalStore:
    store = EvalStore.check(folder, settings)
    store.start({"benchmarks": {}})
    return store


def test_batches_are_read_back_whole(tmp_path: Path) -> None:
    store = started(tmp_path / "out")
    store.append("toy", "2:0", [3, 1], [["a", "b"], ["c", "d"]])
    store.append("toy", "2:1", [0], [["e", "f"]])
    assert store.stored("toy", n=2) == {3: ["a", "b"], 1: ["c", "d"], 0: ["e", "f"]}


def test_a_torn_batch_is_dropped_and_the_file_repaired(tmp_path: Path) -> None:
    store = started(tmp_path / "out")
    store.append("toy", "2:0", [0, 1], [["a", "b"], ["c", "d"]])
    store.append("toy", "2:1", [2, 3], [["e", "f"], ["g", "h"]])
    path = responses_file(store.folder, "toy")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:6]) + lines[6][:10])  # a crash mid-batch: 2 whole lines and a torn one
    assert store.stored("toy", n=2) == {0: ["a", "b"], 1: ["c", "d"]}
    assert path.read_text() == "".join(lines[:4])  # the partial batch is gone, so the next append starts clean
    store.append("toy", "2:1", [2, 3], [["E", "F"], ["G", "H"]])
    assert store.stored("toy", n=2)[3] == ["G", "H"] and len(read_jsonl(path)) == 8


def test_batch_plan_is_longest_first_and_stable() -> None:
    assert plan_batches([3, 9, 1, 9, 5], 2) == [[1, 3], [4, 0], [2]]


@pytest.mark.parametrize(("change", "message"), [
    ({"n": 4}, "n: 2 there, 4 here"),
    ({"model": "other"}, "model: 'abc' there, 'other' here"),
    ({"seed": 1, "temperature": 1.0}, "seed: 0 there, 1 here; temperature: 0.7 there, 1.0 here"),
    ({"benchmarks": {"toy": "p2"}}, "problems of toy (another file or --limit)"),
])
def test_other_settings_are_refused(change: dict, message: str, tmp_path: Path) -> None:
    started(tmp_path / "out")
    with pytest.raises(StoreError, match="holds an evaluation with other settings") as info:
        EvalStore.check(tmp_path / "out", {**SETTINGS, **change})
    assert message in str(info.value) and "pass another --output-dir" in str(info.value)


def test_same_settings_resume_and_new_benchmarks_join(tmp_path: Path) -> None:
    started(tmp_path / "out")
    store = EvalStore.check(tmp_path / "out", {**SETTINGS, "benchmarks": {"other": "p9"}})
    assert store.generation["benchmarks"] == {"toy": "p1", "other": "p9"}


def test_foreign_and_old_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.parquet").write_text("x")
    with pytest.raises(StoreError, match="holds files of something else; pass a new or empty --output-dir"):
        EvalStore.check(tmp_path / "data", SETTINGS)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text(json.dumps({"run": {}, "benchmarks": {}}))
    with pytest.raises(StoreError, match="without resume information"):
        EvalStore.check(tmp_path / "old", SETTINGS)


# ------------------------------------------------------------------------------------------ kill -9 and resume

PROBLEMS = 60


def eval_args(model: Path, bench: Path, out: Path) -> list[str]:
    return ["--model", str(model), "--benchmarks", f"big={bench}", "--n", "2", "--temperature", "0.7",
            "--max-tokens", "8", "--batch-size", "4", "--output-dir", str(out), "--no-progress"]


@pytest.mark.slow
def test_sigkill_mid_eval_then_resume_loses_and_repeats_nothing(tiny_model_dir: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "big.json"
    bench.write_text(json.dumps([{"problem": f"What is {i} + 1?", "answer": i + 1} for i in range(PROBLEMS)]))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "deepscaler_grpo.evaluation.cli", *eval_args(tiny_model_dir, bench, out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = responses_file(out, "big")
    deadline = time.monotonic() + 300
    try:
        while not (log.is_file() and len(log.read_bytes().splitlines()) >= 12):  # 3 batches of 2 problems x 2
            assert proc.poll() is None, "eval exited before it was killed"
            assert time.monotonic() < deadline, "no responses within 300 s"
            time.sleep(0.01)
    finally:
        proc.kill()  # SIGKILL: no cleanup, possibly mid-write
        proc.wait()
    on_disk = len(EvalStore(out, SETTINGS).stored("big", n=2))
    assert 6 <= on_disk < PROBLEMS and not (out / "big.jsonl").exists()  # killed mid-benchmark

    assert ev.main(eval_args(tiny_model_dir, bench, out)) == 0
    assert f"big: {on_disk} of {PROBLEMS} problems already on disk; generating {PROBLEMS - on_disk}" in capsys.readouterr().out
    lines = read_jsonl(out / "big.jsonl")
    assert sorted((x["index"], x["sample"]) for x in lines) == [(i, j) for i in range(PROBLEMS) for j in range(2)]
    raw = read_jsonl(log)
    assert len(raw) == 2 * PROBLEMS and len({(x["index"], x["sample"]) for x in raw}) == 2 * PROBLEMS  # nothing twice
    # the same responses as a run never interrupted: each batch has its own seed
    assert ev.main(eval_args(tiny_model_dir, bench, tmp_path / "reference")) == 0
    reference = read_jsonl(tmp_path / "reference" / "big.jsonl")
    assert [x["response"] for x in lines] == [x["response"] for x in reference]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["benchmarks"]["big"]["num_samples"] == 2 * PROBLEMS


@pytest.mark.slow
def test_rerun_with_other_settings_is_refused_and_rescoring_reuses_responses(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = tmp_path / "b.json"
    bench.write_text(json.dumps([{"problem": f"{i} + 1", "answer": i + 1} for i in range(4)]))
    out = tmp_path / "out"
    args = ["--model", str(tiny_model_dir), "--benchmarks", f"b={bench}", "--max-tokens", "6", "--output-dir", str(out),
            "--no-progress"]
    assert ev.main(args) == 0
    before = (out / "b.responses.jsonl").read_bytes()
    assert ev.main([*args, "--max-tokens", "7"]) == 2
    err = capsys.readouterr().err
    assert "max_tokens: 6 there, 7 here" in err and "Traceback" not in err
    assert ev.main([*args, "--math-verify"]) == 0  # same generation settings: nothing generated, scored again
    assert (out / "b.responses.jsonl").read_bytes() == before
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scoring"]["math_verify"] and "pass@1_math_verify" in summary["benchmarks"]["b"]
    assert all("acc_math_verify" in line for line in read_jsonl(out / "b.jsonl"))
