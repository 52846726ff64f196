"""deepscaler_grpo.training.run: real tiny runs (LoRA only, crash and kill -9 resume, a finished run, no-signal
warning) and the run script's launch command."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.config import load_config
from deepscaler_grpo.io import append_jsonl, read_jsonl
from deepscaler_grpo.training import run_training
from deepscaler_grpo.training.checkpoints import LATEST_FILE
from deepscaler_grpo.training.metrics import PHASES
from tests.helpers import RUN_SCRIPT, Spy, constant_zero, digit_share, tiny_overrides


@pytest.mark.slow
def test_two_step_run_trains_lora_only(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    spy = Spy()
    run = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", run)
    cfg = load_config([*overrides, "trainer.save_freq=5", "trainer.test_freq=1", "trainer.val_before_train=True"])
    assert run_training(cfg, reward_funcs=[digit_share], callbacks=[spy.callback]) == run

    lora = [k for k in spy.end if "lora_" in k]
    base = [k for k in spy.end if "lora_" not in k]
    assert lora and base
    assert any(not torch.equal(spy.begin[k], spy.end[k]) for k in lora if "lora_B" in k)  # B starts at 0
    assert all(torch.equal(spy.begin[k], spy.end[k]) for k in base)  # base weights frozen

    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2]  # step 0: val_before_train
    assert set(rows[0]) == {"step", "val/accuracy", "val/accuracy_ci_low", "val/accuracy_ci_high"}
    assert 0 <= rows[0]["val/accuracy_ci_low"] <= rows[0]["val/accuracy"] <= rows[0]["val/accuracy_ci_high"] <= 1
    rows = rows[1:]
    for key in ("critic/score/mean", "response_length/mean", "response_length/clip_ratio", "actor/kl_loss",
                "actor/entropy", "actor/grad_norm", "actor/lr", "timing_s/step", "perf/throughput", "val/accuracy",
                "rewards/digit_share/mean", *(f"timing_s/{phase}" for phase in PHASES)):
        assert all(isinstance(r[key], (int, float)) for r in rows), key
    for r in rows:  # the phases account for the step (gen, reward, old/ref log-probs, update, testing, saving)
        assert sum(r[f"timing_s/{phase}"] for phase in PHASES) == pytest.approx(r["timing_s/step"], rel=0.1)
        assert r["timing_s/ref"] > 0 and r["timing_s/testing"] > 0 and r["timing_s/update_actor"] > 0
    assert rows[0]["actor/lr"] == pytest.approx(1e-2) and rows[1]["actor/kl_loss"] > 0  # policy moved off the reference
    # save_freq=5 > 2 steps: only the final checkpoint, with the adapter that was trained
    assert sorted(p.name for p in run.glob("global_step_*")) == ["global_step_2"]
    assert (run / LATEST_FILE).read_text().strip() == "2"
    saved = load_file(str(run / "global_step_2" / "adapter" / "adapter_model.safetensors"))
    assert saved and all("lora_" in k for k in saved)
    assert "train_batch_size: 4" in (run / "config.yaml").read_text()


@pytest.mark.slow
def test_crashed_run_resumes_from_its_checkpoint(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Real verifier rewards; a crash right after step 1's checkpoint, then a plain rerun continues at step 2."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run = tmp_path / "run"
    cfg = load_config(tiny_overrides(tiny_model_dir, tmp_path / "data", run))
    crash = Spy(crash_at_optimizer_step=2)  # 2 optimizer steps per training step: crash as step 2 begins
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_training(cfg, callbacks=[crash.callback])
    assert (run / LATEST_FILE).read_text().strip() == "1"
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1]
    assert not (run / "global_step_2").exists()
    append_jsonl(run / "metrics.jsonl", {"step": 2, "critic/score/mean": 9.0})  # a row the crash left behind

    resumed = Spy()
    run_training(cfg, callbacks=[resumed.callback])
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
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=3)
    proc = subprocess.Popen([sys.executable, "-m", "deepscaler_grpo.training", *overrides],
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
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=1)
    assert cli_main(["train", *overrides]) == 0
    end = capsys.readouterr().out.splitlines()[-3:]  # the run ends naming its adapter and the next commands
    assert end[0] == f"done: step 1, adapter {run / 'global_step_1' / 'adapter'}"
    assert end[1].split() == ["curves:", "deepscaler-grpo", "plot", str(run)]
    evaluate = shlex.split(end[2].removeprefix("  evaluate: "))
    assert cli_main([*evaluate[1:], "--max-tokens", "4", "--output-dir", str(tmp_path / "eval"), "--no-progress"]) == 0
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


@pytest.mark.slow
def test_constant_reward_run_warns_no_signal(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=3)
    run_training(load_config([*overrides, "trainer.no_signal_warn_steps=2"]), reward_funcs=[constant_zero])
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
    proc = subprocess.run([str(RUN_SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **env})
    assert proc.returncode == 2
    assert message in proc.stderr and "usage:" in proc.stderr


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["1", "runs/x", "trainer.seed=1"], {}, ["python", "-m", "deepscaler_grpo.training"]),
        (["0", "runs/x"], {}, ["python", "-m", "deepscaler_grpo.training"]),
        (["8", "runs/x"], {}, ["accelerate", "launch", "--multi_gpu", "--num_processes", "8", "--num_machines", "1"]),
        (["4", "runs/x"], {"NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1"},
         ["accelerate", "launch", "--multi_gpu", "--num_processes", "8", "--num_machines", "2", "--machine_rank", "1",
          "--main_process_ip", "10.0.0.1"]),
    ],
)
def test_script_launch_command(args: list[str], env: dict[str, str], expected: list[str]) -> None:
    proc = subprocess.run([str(RUN_SCRIPT), *args], capture_output=True, text=True, env={**os.environ, "DRY_RUN": "1", **env})
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    assert words[: len(expected)] == expected
    assert f"trainer.n_gpus_per_node={args[0]}" in words and "trainer.default_local_dir=runs/x" in words
    assert words.index("trainer.default_local_dir=runs/x") < len(words) - (len(args) - 2)  # user overrides come last
