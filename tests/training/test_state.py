"""deepscaler_grpo.training.state: where a run stands, and every resume refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepscaler_grpo.config import config_to_yaml, load_config
from deepscaler_grpo.config.stages import ScheduleError
from deepscaler_grpo.training import state
from tests.helpers import fake_checkpoint

SMALL = ["data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=2", "actor_rollout_ref.rollout.n=2"]


def _run_with_checkpoint(tmp_path: Path, saved: list[str], step: int = 2) -> Path:
    run = tmp_path / "run"
    fake_checkpoint(run / f"global_step_{step}")
    (run / "config.yaml").write_text(config_to_yaml(load_config([*SMALL, *saved, f"trainer.default_local_dir={run}"])))
    return run


def test_fresh_resume_and_finished(tmp_path: Path) -> None:
    run = tmp_path / "run"
    fresh = state.decide(load_config([*SMALL, f"trainer.default_local_dir={run}"]), total_steps=4)
    assert (fresh.kind, fresh.done, fresh.checkpoint) == ("fresh", 0, None)
    assert fresh.describe().startswith(f"starting a fresh run in {run}")
    _run_with_checkpoint(tmp_path, [])
    cfg = load_config([*SMALL, f"trainer.default_local_dir={run}"])
    resumed = state.decide(cfg, total_steps=4)
    assert (resumed.kind, resumed.done, resumed.checkpoint) == ("resume", 2, run / "global_step_2")
    assert "from global_step_2 (step 2/4" in resumed.describe()
    finished = state.decide(cfg, total_steps=2)
    assert finished.kind == "finished" and "run complete: 2/2 steps" in finished.describe()
    assert state.decide(load_config([*SMALL, f"trainer.default_local_dir={run}", "trainer.resume_mode=disable"]),
                        4).kind == "fresh"


@pytest.mark.parametrize(
    ("saved", "now", "message"),
    [
        ([], ["data.train_batch_size=8"], "different batch settings (data.train_batch_size: 4 -> 8)"),
        ([], ["actor_rollout_ref.model.lora_rank=16"], "actor_rollout_ref.model.lora_rank: 64 -> 16"),
        ([], ["actor_rollout_ref.model.lora_alpha=8"], "actor_rollout_ref.model.lora_alpha: 32 -> 8"),
        ([], ["actor_rollout_ref.model.target_modules=[q_proj]"], "target_modules: all-linear -> ['q_proj']"),
        ([], ["actor_rollout_ref.model.path=other/model"], "model.path: Qwen/Qwen3-4B-Instruct-2507 -> other/model"),
        ([], ["actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean"], "loss_agg_mode: token-mean -> seq-mean-token-mean"),
    ],
)
def test_resume_refuses_what_shapes_the_checkpoint(tmp_path: Path, saved: list[str], now: list[str], message: str) -> None:
    run = _run_with_checkpoint(tmp_path, saved)
    before = (run / "config.yaml").read_text()
    with pytest.raises(state.RunDirError, match="cannot resume") as info:
        state.decide(load_config([*SMALL, *now, f"trainer.default_local_dir={run}"]), total_steps=4)
    assert message in str(info.value) and "trainer.resume_mode=disable" in str(info.value)
    assert (run / "config.yaml").read_text() == before  # nothing written


def test_resume_accepts_what_does_not_shape_it(tmp_path: Path) -> None:
    run = _run_with_checkpoint(tmp_path, [])
    cfg = load_config([*SMALL, f"trainer.default_local_dir={run}", "actor_rollout_ref.actor.optim.lr=1e-5",
                       "trainer.total_training_steps=100", "reward.format_weight=0.1"])
    assert state.decide(cfg, 100).kind == "resume"


def test_resume_refuses_a_changed_started_stage_even_when_the_saved_config_is_old(tmp_path: Path) -> None:
    schedule = "trainer.length_schedule=[{until_step:2,max_response_length:8},{max_response_length:16}]"
    run = _run_with_checkpoint(tmp_path, ["data.max_response_length=16", schedule], step=1)
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text + "retired_section:\n  key: 1\n")  # a key this version no longer knows
    changed = "trainer.length_schedule=[{until_step:2,max_response_length:12},{max_response_length:16}]"
    with pytest.raises(ScheduleError, match="changes stage 0, which has already started"):
        state.decide(load_config([*SMALL, "data.max_response_length=16", changed, f"trainer.default_local_dir={run}"]), 4)
    later = "trainer.length_schedule=[{until_step:2,max_response_length:8},{max_response_length:12}]"
    assert state.decide(load_config([*SMALL, "data.max_response_length=16", later, f"trainer.default_local_dir={run}"]),
                        4).kind == "resume"  # stage 1 has not started: it may change


def test_train_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.parquet").write_text("x")
    with pytest.raises(state.RunDirError, match="not a deepscaler-grpo run directory"):
        state.decide(load_config([*SMALL, f"trainer.default_local_dir={data}"]), 4)
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(state.RunDirError, match="is a file"):
        state.decide(load_config([*SMALL, f"trainer.default_local_dir={file}"]), 4)
    (tmp_path / "empty").mkdir()
    assert state.decide(load_config([*SMALL, f"trainer.default_local_dir={tmp_path / 'empty'}"]), 4).kind == "fresh"
