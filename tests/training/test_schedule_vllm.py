"""A length schedule with vLLM rollouts (deepscaler_grpo.training.schedule + vllm_sync), the seams between stages:
in one process the next stage's trainer adopts the first one's engine (no second engine) and the first stage's model
and optimizer are freed; a SIGKILL exactly at a stage boundary resumes in the next stage with one fresh engine; the
same schedule with 2 processes through the run script, one engine per rank. The tiny model (head_dim 32): a step of
the real one takes too long for three runs in CI. Needs vLLM (CPU build in CI)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from deepscaler_grpo.generation.vllm import vllm_installed
from deepscaler_grpo.io import read_jsonl
from deepscaler_grpo.training.checkpoints import LATEST_FILE
from tests.helpers import (
    DIGIT_REWARD_FILE,
    RUN_SCRIPT,
    TESTS,
    VLLM_TRAIN_RUN,
    run_vllm_train,
    subprocess_env,
    write_data,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not vllm_installed(), reason="vLLM is not installed (see README: CPU tests)")]

# stage 0: step 1 at 8 tokens; stage 1: step 2 at 12 tokens, 4 responses; stage 2: step 3 at 16 tokens
SCHEDULE = ("trainer.length_schedule=[{until_step:1,max_response_length:8},"
            "{until_step:2,max_response_length:12,rollout_n:4},{max_response_length:16}]")
STAGES = [(1, 0, 8, 2), (2, 1, 12, 4), (3, 2, 16, 2)]  # step, stage, limit, rollout_n


def schedule_overrides(model_dir: Path, tmp: Path, run: Path) -> list[str]:
    train_file, val_file = write_data(tmp / "data")
    return [
        f"actor_rollout_ref.model.path={model_dir}", f"data.train_files={train_file}", f"data.val_files={val_file}",
        "data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=2", "actor_rollout_ref.rollout.n=2",
        "actor_rollout_ref.rollout.name=vllm", "actor_rollout_ref.rollout.temperature=1.0", "data.max_response_length=16",
        "data.val_batch_size=4", "actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.lora_alpha=16",
        "actor_rollout_ref.actor.optim.lr=2e-2", "actor_rollout_ref.model.enable_gradient_checkpointing=false",
        "trainer.total_training_steps=3", "trainer.save_freq=1", "trainer.test_freq=0", "trainer.val_before_train=false",
        f"trainer.default_local_dir={run}", SCHEDULE,
    ]


def check_rows(run: Path) -> list[dict]:
    rows = read_jsonl(run / "metrics.jsonl")
    got = [(r["step"], r["stage/index"], r["stage/max_response_length"], r["stage/rollout_n"]) for r in rows]
    assert got == STAGES
    assert all(r["response_length/max"] <= r["stage/max_response_length"] for r in rows)
    assert all(r["training/rollout_probs_diff_mean"] < 1e-8 for r in rows)  # every stage samples the synced policy
    return rows


@pytest.fixture(scope="module")
def vllm_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from deepscaler_grpo.demo.tiny import TinyModelConfig, save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-vllm"), config=TinyModelConfig.for_vllm())


def test_stage_boundary_in_one_process_then_a_kill_at_the_next_boundary(vllm_model_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = schedule_overrides(vllm_model_dir, tmp_path, run)
    first = tmp_path / "first.json"
    result = subprocess.run([sys.executable, str(VLLM_TRAIN_RUN), "--report", str(first), "--kill-after-step", "2",
                             *args],
                            capture_output=True, text=True, env=subprocess_env(), timeout=400, check=False)
    assert result.returncode == -9, result.stderr[-3000:]  # killed right after global_step_2, the 1 -> 2 boundary
    crossed = json.loads(first.read_text())
    # stage 0 -> 1 inside the process: the second trainer adopted the first one's engine, the first one's model and
    # LoRA parameters (held by its optimizer) were already garbage when the second trainer was built
    assert crossed["trainers_built"] == 2 and crossed["previous_stage_freed"] == [True]
    assert crossed["engines_started"] == 1 and crossed["one_engine"]
    assert (run / LATEST_FILE).read_text().strip() == "2"

    resumed = tmp_path / "resumed.json"
    run_vllm_train(["--report", str(resumed), *args])
    report = json.loads(resumed.read_text())
    assert report["begin_step"] == 2 * 2  # continued after step 2 (2 optimizer steps each), in stage 2
    assert report["trainers_built"] == 1 and report["engines_started"] == 1
    assert report["lora_changed"] and report["base_unchanged"]
    rows = check_rows(run)
    assert rows[1]["response_length/max"] > 8  # stage 1 ran at its own limit on the engine kept from stage 0


def test_two_processes_cross_the_boundaries_on_one_engine_each(vllm_model_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    run, hook = tmp_path / "run", tmp_path / "hook"
    hook.mkdir()
    args = [a for a in schedule_overrides(vllm_model_dir, tmp_path, run) if not a.startswith("trainer.default_local_dir")]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = subprocess_env(PYTHONPATH=os.pathsep.join([str(TESTS / "training" / "multiprocess_hook"),
                                                     str(TESTS.parent / "src")]),
                         PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
                         PYTHON=sys.executable, OMP_NUM_THREADS="1", MASTER_PORT=str(port),
                         DSG_TEST_HOOK_DIR=str(hook))
    proc = subprocess.run([str(RUN_SCRIPT), "2", str(run), *args, f"custom_reward_function.path={DIGIT_REWARD_FILE}"],
                          env=env, capture_output=True, text=True, timeout=500, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    check_rows(run)
    ranks = [json.loads((hook / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["engines_started"] for r in ranks] == [1, 1]  # three stages, one engine per rank
    weights = [load_file(str(hook / f"rank{r}.safetensors")) for r in (0, 1)]
    assert all(weights[0][k].equal(weights[1][k]) for k in weights[0])
