"""A scripted pass over the inputs a new user gets wrong (issue 18): every command rejects them with one line naming
the fix, exit status 2, no traceback, before any work and before writing anything. Ctrl-C and SIGTERM end a run with
one line saying where it stands and how to resume. (How fast each rejection is: ``python benchmarks/bad_inputs.py``.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.training.checkpoints import LATEST_FILE
from tests.helpers import DIGIT_REWARD_FILE, REPO, RUN_SCRIPT, tiny_overrides


def rejected(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> str:
    """Run one command; it must exit 2 with a single error line containing ``message`` and no traceback."""
    capsys.readouterr()
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a folder")
    return path


@pytest.fixture(scope="module")
def adapter(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-step run's adapter on the tiny model (hidden size 64)."""
    tmp = tmp_path_factory.mktemp("adapter")
    assert cli_main(["train", *tiny_overrides(tiny_model_dir, tmp / "data", tmp / "run", steps=1)]) == 0
    return tmp / "run" / "global_step_1" / "adapter"


# ------------------------------------------------------------------------------------------ output locations


def test_output_locations_that_are_files(tiny_model_dir: Path, tmp_path: Path, a_file: Path, adapter: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    run = adapter.parents[1]
    cases = [
        (["train", *tiny_overrides(tiny_model_dir, tmp_path / "d", a_file)], f"trainer.default_local_dir={a_file} is a file"),
        (["demo", "--output-dir", str(a_file)], f"--output-dir {a_file} is a file"),
        (["plot", str(run), "--output-dir", str(a_file)], f"--output-dir {a_file} is a file"),
        (["export", "--base", str(tiny_model_dir), "--adapter", str(adapter), "--output-dir", str(a_file)],
         f"--output-dir {a_file} is a file"),
        (["train", *tiny_overrides(tiny_model_dir, tmp_path / "d", a_file / "run")], f"{a_file} is a file, not a folder"),
    ]
    for argv, message in cases:
        rejected(capsys, argv, message)
    responses = tmp_path / "responses.jsonl"
    responses.write_text(json.dumps({"response": "<answer>2</answer>", "answer": "2"}) + "\n")
    rejected(capsys, ["score", str(responses), "--output", str(tmp_path)], f"--output {tmp_path} is a folder; pass a file path")
    rejected(capsys, ["score", str(responses), "--output", str(a_file / "x.jsonl")], f"{a_file} is a file, not a folder")
    assert a_file.read_text() == "not a folder"
    assert subprocess.run([sys.executable, "-m", "deepscaler_grpo.demo.tiny", str(a_file)], capture_output=True,
                          text=True).stderr.strip() == f"deepscaler-grpo tiny: error: output_dir {a_file} is a file; pass a folder path (it is created if missing)"


def test_train_refuses_someone_elses_folder(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run")
    data_dir = tmp_path / "data"
    rejected(capsys, ["train", *overrides, f"trainer.default_local_dir={data_dir}"], "is a non-empty folder that is not a deepscaler-grpo run")
    assert sorted(p.name for p in data_dir.iterdir()) == ["train.parquet", "val.parquet"]


# -------------------------------------------------------------------------------------------- resume, config


def test_a_resume_that_changes_the_adapter_is_refused_and_leaves_the_run_alone(
        adapter: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = adapter.parents[1]
    before = {p.name: p.read_bytes() for p in (run / "config.yaml", run / "metrics.jsonl")}
    overrides = [o for o in tiny_overrides(tiny_model_dir, run.parent / "data", run, steps=2)]
    for change, message in (("actor_rollout_ref.model.lora_rank=16", "lora_rank: 8 -> 16"),
                            ("actor_rollout_ref.model.lora_alpha=32", "lora_alpha: 16 -> 32"),
                            ("actor_rollout_ref.model.target_modules=[q_proj]", "target_modules: all-linear -> ['q_proj']"),
                            ("actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean", "loss_agg_mode")):
        rejected(capsys, ["train", *overrides, change], message)
        assert {p.name: p.read_bytes() for p in (run / "config.yaml", run / "metrics.jsonl")} == before


@pytest.mark.parametrize(("override", "message"), [
    ("actor_rollout_ref.model.target_modules=q_proj", "is one string (PEFT would read it as a regular expression"),
    ("actor_rollout_ref.model.target_modules=[q_prj]", "['q_prj'] match no linear layer"),
    ("trainer.logger=[console,wandb]", "trainer.logger=wandb needs the wandb package"),
    ("trainer.logger=[console,tensorboard]", "trainer.logger=tensorboard needs the tensorboard package"),
])
def test_checked_before_anything_loads(override: str, message: str, tiny_model_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    if "logger" in override and importlib.util.find_spec(override.split(",")[1].rstrip("]")):
        pytest.skip("the logger's package is installed here")
    rejected(capsys, ["train", *tiny_overrides(tiny_model_dir, tmp_path / "d", tmp_path / "run"), override], message)
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------------ models and data


def test_models_and_adapters_that_do_not_fit(tiny_model_dir: Path, adapter: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from deepscaler_grpo.demo.tiny import TinyModelConfig, save_tiny_model

    other = save_tiny_model(tmp_path / "wider", config=TinyModelConfig(hidden_size=96))
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"problem": "1+1", "answer": "2"}) + "\n")
    fits = "does not fit the base model"
    rejected(capsys, ["export", "--base", str(other), "--adapter", str(adapter), "--output-dir", str(tmp_path / "m")], fits)
    rejected(capsys, ["eval", "--model", str(other), "--adapter", str(adapter), "--benchmarks", str(bench),
                      "--backend", "hf", "--output-dir", str(tmp_path / "e")], fits)
    assert not (tmp_path / "m").exists()
    not_a_model = tmp_path / "notes"
    not_a_model.mkdir()
    (not_a_model / "readme.txt").write_text("x")
    rejected(capsys, ["eval", "--model", str(not_a_model), "--benchmarks", str(bench), "--backend", "hf",
                      "--output-dir", str(tmp_path / "e2")], f"{not_a_model} is not a model folder")
    line = rejected(capsys, ["eval", "--model", "/nonexistent/model", "--benchmarks", str(bench), "--backend", "hf",
                             "--output-dir", str(tmp_path / "e3")], "model folder /nonexistent/model does not exist")
    assert "(nearest existing folder: /)" in line


def test_eval_names_the_columns_and_the_benchmarks(tiny_model_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"question_text": "1+1", "gold": "2"}) + "\n")
    base = ["eval", "--model", str(tiny_model_dir), "--backend", "hf", "--max-tokens", "4"]
    rejected(capsys, [*base, "--benchmarks", str(other), "--output-dir", str(tmp_path / "e1")],
             "columns ['gold', 'question_text']); name yours with --problem-key / --answer-key")
    rejected(capsys, [*base, "--benchmarks", "aime25", "--output-dir", str(tmp_path / "e2")],
             "unknown benchmark 'aime25': not a known name (aime24, amc23, amc, math500, minerva, olympiadbench)")
    assert cli_main([*base, "--benchmarks", str(other), "--problem-key", "question_text", "--answer-key", "gold",
                     "--output-dir", str(tmp_path / "e3")]) == 0
    assert json.loads((tmp_path / "e3" / "other.jsonl").read_text().splitlines()[0])["answer"] == "2"


def test_data_messages_say_what_they_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "numbers.json"
    source.write_text("[1, 2]")
    rejected(capsys, ["prepare", "--source", str(source), "--output-dir", str(tmp_path / "out")], "record 0 is a number")
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"problem": f"{i}+1", "answer": str(i + 1)} for i in range(20)]))
    rejected(capsys, ["prepare", "--source", str(good), "--tokenizer", "nonexistent-org/nonexistent-model",
                      "--output-dir", str(tmp_path / "out")], "nonexistent-org/nonexistent-model")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------ several processes


@pytest.mark.slow
def test_a_config_error_under_two_processes_is_one_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Caught once by the run script before the launcher starts any rank: no per-rank lines, no elastic traceback."""
    overrides = [o for o in tiny_overrides(tiny_model_dir, tmp_path / "d", tmp_path / "run")
                 if not o.startswith("trainer.default_local_dir=")]
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO / "src")}
    for bad, message in (("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=3", "must be a multiple of"),
                         ("trainer.frobnicate=1", "unknown config key 'trainer.frobnicate'")):
        proc = subprocess.run([str(RUN_SCRIPT), "2", str(tmp_path / "run"), *overrides, bad], capture_output=True,
                              text=True, env=env, timeout=120)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert proc.stderr.count("error:") == 1 and message in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------------ interruptions


def sigint_as_in_a_terminal() -> None:
    """The child's SIGINT as a terminal gives it: a shell's background job (``cmd &``) ignores SIGINT, a child
    inherits that, and Python then installs no KeyboardInterrupt handler, so the test would depend on how it was
    started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "name"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_an_interrupted_run_says_where_it_stands(sig: int, name: str, tiny_model_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    overrides = [*tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=40), f"custom_reward_function.path={DIGIT_REWARD_FILE}"]
    proc = subprocess.Popen([sys.executable, "-m", "deepscaler_grpo.cli", "train", *overrides], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
                            preexec_fn=sigint_as_in_a_terminal)
    deadline = time.monotonic() + 300
    while not (run / LATEST_FILE).is_file():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.1)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if "interrupted" in line]
    checkpoint = int((run / LATEST_FILE).read_text())
    assert line.startswith(f"deepscaler-grpo train: interrupted; {name} after step ")
    assert line.endswith(f"; rerun the same command to resume from {run / f'global_step_{checkpoint}'}")
