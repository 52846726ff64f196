"""trainer.length_schedule: planning and checks (deepscaler_grpo.config.stages), resume rules (training.state),
auto-advance and real tiny multi-stage runs (training.schedule: stage limits, rollout_n per stage, crash + resume,
SIGKILL exactly at a stage boundary)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from transformers import TrainerControl, TrainerState

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.config import ConfigError, config_to_yaml, load_config
from deepscaler_grpo.config import stages as schedule
from deepscaler_grpo.config.stages import ScheduleError
from deepscaler_grpo.io import read_jsonl
from deepscaler_grpo.training import run_training
from deepscaler_grpo.training.checkpoints import LATEST_FILE
from deepscaler_grpo.training.schedule import StageCallback
from deepscaler_grpo.training.state import RunState, check_schedule_unchanged
from tests.helpers import DIGIT_REWARD_FILE, Spy, tiny_overrides

REPO = Path(__file__).resolve().parents[2]
SMALL = ["data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=2", "actor_rollout_ref.rollout.n=2",
         "data.max_response_length=16"]
THREE = "trainer.length_schedule=[{until_step:2,max_response_length:8},{until_step:4,max_response_length:12,rollout_n:4},{max_response_length:16}]"


# ------------------------------------------------------------------------------------------------- config


def test_command_line_schedule_and_planned_stages() -> None:
    cfg = load_config([*SMALL, "trainer.length_schedule=[{until_step:2,max_response_length:8},{max_response_length:16}]"])
    assert [(s.start, s.end, s.max_response_length, s.rollout_n) for s in schedule.planned_stages(cfg)] == [
        (0, 2, 8, 2), (2, None, 16, 2)]
    stage_cfg = schedule.stage_config(cfg, schedule.planned_stages(cfg)[0])
    assert (stage_cfg.data.max_response_length, stage_cfg.trainer.length_schedule) == (8, [])
    assert schedule.planned_stages(load_config(SMALL)) == [schedule.Stage(0, 0, None, 16, 2)]  # no schedule: one stage
    assert "until_step: 2" in config_to_yaml(cfg)  # the run dir keeps it (resume checks compare against it)


def test_deepscaler_schedule_config_file() -> None:
    import os

    cfg = load_config([], str(REPO / "configs" / "deepscaler_schedule.yaml"))
    assert [(s.start, s.end, s.max_response_length, s.rollout_n) for s in schedule.planned_stages(cfg)] == [
        (0, 1040, 8192, 8), (1040, 1520, 16384, 16), (1520, None, 24576, 16)]
    script = REPO / "run_deepscaler_qwen3_4b_instruct_grpo.sh"
    proc = subprocess.run([str(script), "--config", "configs/deepscaler_schedule.yaml", "8", "runs/x"], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "DRY_RUN": "1"})
    assert proc.returncode == 0 and "--config configs/deepscaler_schedule.yaml" in proc.stdout
    assert "data.max_response_length=2048" not in proc.stdout  # the recipe's one stage does not override the file


@pytest.mark.parametrize(
    ("value", "extra", "message"),
    [
        ("[{until_step:2,max_response_length:8},{until_step:2,max_response_length:16},{}]", [], "greater than the previous one (2)"),
        ("[{max_response_length:8},{max_response_length:16}]", [], "every stage but the last needs an until_step"),
        ("[{until_step:2,max_response_length:8},{until_step:5,max_response_length:16}]", [], "the last stage runs to the end"),
        ("[{until_step:2,max_response_length:0},{max_response_length:16}]", [], "must be in [1, data.max_response_length=16]"),
        ("[{until_step:2,max_response_length:8},{max_response_length:32}]", [], "raise data.max_response_length to 32"),
        ("[{until_step:2,max_response_length:8},{max_response_length:16,rollout_n:3}]",
         ["actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4"],
         "trainer.length_schedule[1] (rollout_n=3): ppo_mini_batch_size x rollout.n = 2 x 3"),
        ("[{until_step:2,rollout_n:1},{max_response_length:16}]", [], "at least 2 responses per prompt"),
        ("[{until_stp:2,max_response_length:8},{max_response_length:16}]", [], "unknown key trainer.length_schedule[0].until_stp"),
        ("[{until_step:x,max_response_length:8},{max_response_length:16}]", [], "until_step='x' must be a whole number"),
        ("[]", ["trainer.stage_auto_advance.enable=true"], "needs a trainer.length_schedule with at least 2 stages"),
        ("[{until_step:2,max_response_length:8},{max_response_length:16}]",
         ["reward_model.overlong_buffer.enable=true", "reward_model.overlong_buffer.len=8"], "overlong_buffer.len=8 must be shorter"),
    ],
)
def test_bad_schedules_fail_with_the_fix(value: str, extra: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config([*SMALL, f"trainer.length_schedule={value}", *extra])
    assert message in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------ resume rules


def _fake_run(tmp_path: Path, schedule_value: str, step: int, starts: list[int]) -> Path:
    run = tmp_path / "run"
    ckpt = run / f"global_step_{step}"
    ckpt.mkdir(parents=True)
    (run / "config.yaml").write_text(config_to_yaml(load_config([*SMALL, f"trainer.length_schedule={schedule_value}"])))
    state = {"global_step": 2 * step, "stateful_callbacks": {"StageCallback": {"args": {}, "attributes": {"starts": starts}}}}
    (ckpt / "trainer_state.json").write_text(json.dumps(state))
    return ckpt


def test_resume_refuses_changes_to_started_stages(tmp_path: Path) -> None:
    ckpt = _fake_run(tmp_path, "[{until_step:2,max_response_length:8},{until_step:4,max_response_length:12},{max_response_length:16}]", 3, [0, 2])
    def check(cfg: Any, checkpoint: Path) -> None:
        check_schedule_unchanged(cfg, checkpoint, total_steps=6)

    check(load_config([*SMALL, "trainer.length_schedule=[{until_step:2,max_response_length:8},{until_step:4,max_response_length:12},{max_response_length:14,rollout_n:4}]"]), ckpt)
    with pytest.raises(ScheduleError, match="changes stage 1, which has already started"):
        check(load_config([*SMALL, "trainer.length_schedule=[{until_step:2,max_response_length:8},{until_step:5,max_response_length:12},{max_response_length:16}]"]), ckpt)
    with pytest.raises(ScheduleError, match="changes stage 0"):
        check(load_config([*SMALL, "trainer.length_schedule=[{until_step:2,max_response_length:6},{until_step:4,max_response_length:12},{max_response_length:16}]"]), ckpt)
    with pytest.raises(ScheduleError, match="changes stage 0"):
        check(load_config(SMALL), ckpt)  # dropping the schedule changes every started stage


def test_stage_at_boundaries_and_after_an_auto_advance() -> None:
    cfg = load_config([*SMALL, THREE])
    planned = schedule.actual_stages(cfg, [0])
    assert [schedule.stage_at(planned, done).index for done in range(6)] == [0, 0, 1, 1, 2, 2]
    advanced = schedule.actual_stages(cfg, [0, 1])  # stage 1 began after step 1 (auto-advance)
    assert [(s.start, s.end) for s in advanced] == [(0, 1), (1, 4), (4, None)]
    assert [schedule.stage_at(advanced, done).index for done in range(6)] == [0, 1, 1, 1, 2, 2]


def test_auto_advance_ends_the_stage_after_k_clipped_steps() -> None:
    cfg = load_config([*SMALL, THREE, "trainer.stage_auto_advance.enable=true", "trainer.stage_auto_advance.steps=2",
                       "trainer.stage_auto_advance.clip_ratio=0.5"])
    callback = StageCallback(cfg, RunState.at(cfg, None, total_steps=6), is_main=False)
    assert callback.steps_per_step == 2 and callback.fields == {"stage/index": 0, "stage/max_response_length": 8, "stage/rollout_n": 2}
    state, control = TrainerState(), TrainerControl()
    for global_step, clip in [(2, 0.9), (4, 0.1), (6, 0.9), (8, 0.9)]:
        state.global_step = global_step
        logs = {"actor/loss": 0.0, "response_length/clip_ratio": clip}
        callback.on_log(None, state, control, logs=logs)
    assert logs["stage/auto_advance"] == 1 and callback.last_step == 4 and callback.starts == [0, 4]
    assert control.should_save and control.should_training_stop
    assert callback.state()["attributes"] == {"starts": [0, 4], "streak": 0}
    at_last = RunState(Path("run"), 6, None, 4, tuple(schedule.actual_stages(cfg, [0, 2, 4])))
    last = StageCallback(cfg, at_last)
    assert last.stage.index == 2 and last.advance is None  # the last stage has nowhere to go


# ---------------------------------------------------------------------------------------- real tiny runs


def _recording_reward(calls: list[tuple[int, int]]) -> Any:
    """A dense reward (digit share) that records (completions per call, longest completion in tokens)."""

    def digit_share(completions: list, completion_ids: list, **kw: Any) -> list[float]:
        calls.append((len(completions), max(len(ids) for ids in completion_ids)))
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [sum(ch.isdigit() for ch in t) / max(len(t), 1) for t in texts]

    return digit_share


def _steps_and_stages(run: Path) -> list[tuple[int, int, int]]:
    return [(r["step"], r["stage/index"], r["stage/max_response_length"]) for r in read_jsonl(run / "metrics.jsonl")]


DIGITS = [f"custom_reward_function.path={DIGIT_REWARD_FILE}"]  # a dense reward, as a verl user writes one
EXPECTED = [(1, 0, 8), (2, 0, 8), (3, 1, 12), (4, 1, 12), (5, 2, 16)]


@pytest.mark.slow
def test_three_stage_run_crash_and_resume(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[int, int]] = []
    run = tmp_path / "run"
    overrides = [*tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=5), THREE]
    crash = Spy(crash_at_optimizer_step=6)  # 2 optimizer steps per step: dies as step 4 begins
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_training(load_config(overrides), reward_funcs=[_recording_reward(calls)], callbacks=[crash.callback])
    assert _steps_and_stages(run) == EXPECTED[:3] and (run / LATEST_FILE).read_text().strip() == "3"

    changed = THREE.replace("{until_step:4,max_response_length:12,", "{until_step:4,max_response_length:10,")
    capsys.readouterr()
    assert cli_main(["train", *overrides[:-1], changed]) == 2  # stage 1 is in progress: refused
    assert "changes stage 1, which has already started" in capsys.readouterr().err
    run_training(load_config(overrides), reward_funcs=[_recording_reward(calls)])
    rows = read_jsonl(run / "metrics.jsonl")
    assert _steps_and_stages(run) == EXPECTED  # steps 1..5 once each, in the right stage
    assert all(r["response_length/max"] <= r["stage/max_response_length"] for r in rows)
    assert [r["stage/rollout_n"] for r in rows] == [2, 2, 4, 4, 2]
    assert [r["step"] for r in rows if "val/accuracy_ci_high" in r] == [2, 4, 5]  # each stage ends validated
    # 4 prompts x rollout_n completions per reward call, never longer than the stage's limit
    assert [count for count, _ in calls] == [8, 8, 16, 16, 8]
    assert all(longest <= limit for (_, longest), limit in zip(calls, [8, 8, 12, 12, 16]))
    state = json.loads((run / "global_step_5" / "trainer_state.json").read_text())
    assert state["global_step"] == 10 and state["stateful_callbacks"]["StageCallback"]["attributes"]["starts"] == [0, 2, 4]


KILL_AT_BOUNDARY = """
import os, signal, sys
from deepscaler_grpo.training import checkpoints as rundir
from deepscaler_grpo.training import trainer as trl_ext
publish = rundir.publish_checkpoint
def publish_then_die(src, run_dir, step, keep=None):
    path = publish(src, run_dir, step, keep)
    if step == int(os.environ["KILL_AFTER_STEP"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return path
trl_ext.publish_checkpoint = publish_then_die
from deepscaler_grpo.training.run import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_sigkill_exactly_at_a_stage_boundary_resumes_in_the_next_stage(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    run = tmp_path / "run"
    overrides = [*tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=5), THREE, *DIGITS]
    env = {**os.environ, "KILL_AFTER_STEP": "2",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", KILL_AT_BOUNDARY, *overrides], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]  # killed right after publishing global_step_2
    assert (run / LATEST_FILE).read_text().strip() == "2" and _steps_and_stages(run) == EXPECTED[:2]

    capsys.readouterr()
    assert cli_main(["train", *overrides]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "from global_step_2" in out
    assert out.index("stage 1: steps 3..4, max_response_length=12, rollout_n=4") < out.index("stage 2: steps 5..5")
    assert "stage 0:" not in out
    assert _steps_and_stages(run) == EXPECTED
    assert not list(run.glob("checkpoint-*"))


@pytest.mark.slow
def test_auto_advance_moves_on_early_and_is_logged(tiny_model_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """8-token responses from a random tiny model are always clipped: stage 0 (planned to step 3) ends at step 2."""
    run = tmp_path / "run"
    overrides = [*tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=4), *DIGITS,
                 "trainer.length_schedule=[{until_step:3,max_response_length:8},{max_response_length:16}]",
                 "trainer.stage_auto_advance.enable=true", "trainer.stage_auto_advance.steps=2",
                 "trainer.stage_auto_advance.clip_ratio=0.5"]
    assert cli_main(["train", *overrides]) == 0
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["response_length/clip_ratio"] for r in rows[:2]] == [1.0, 1.0]
    assert _steps_and_stages(run) == [(1, 0, 8), (2, 0, 8), (3, 1, 16), (4, 1, 16)]
    assert rows[1]["stage/auto_advance"] == 1
    assert "stage 0 -> 1 at step 2 (auto-advance" in capsys.readouterr().err
    starts = json.loads((run / "global_step_4" / "trainer_state.json").read_text())["stateful_callbacks"]
    assert starts["StageCallback"]["attributes"]["starts"] == [0, 2]


def test_plot_draws_the_stage_limit_only_when_logged(tmp_path: Path) -> None:
    from deepscaler_grpo.tools.plot import plot_run

    rows = [{"step": s, "critic/score/mean": 0.1 * s, "stage/index": int(s > 2), "stage/max_response_length": 8 if s <= 2 else 16}
            for s in range(1, 5)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    paths, notes = plot_run(tmp_path)
    assert "stage_max_response_length.png" in [p.name for p in paths] and not any("stage" in n for n in notes)
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"step": r["step"], "critic/score/mean": 1.0}) + "\n" for r in rows))
    paths, notes = plot_run(tmp_path, tmp_path / "plain")
    assert "stage_max_response_length.png" not in [p.name for p in paths] and not any("stage" in n for n in notes)
