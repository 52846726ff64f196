"""Several processes on CPU (gloo) through the run script: the code path of N GPUs (NCCL), kill and resume included;
the script's --config and the shipped configs/.

Runs use the tiny model (hidden size 64), 16-token responses and 2-4 steps. A dense reward written as a verl user writes
one (``custom_reward_function``, tests/training/rewards/digit_reward.py) makes the LoRA weights move;
tests/training/multiprocess_hook (put first on the ranks' PYTHONPATH) dumps each rank's weights after training.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepscaler_grpo.config import load_config, with_values
from deepscaler_grpo.io import read_jsonl
from deepscaler_grpo.training.checkpoints import LATEST_FILE, is_complete_checkpoint
from deepscaler_grpo.training.run import build_parser
from tests.helpers import DIGIT_REWARD_FILE, REPO, RUN_SCRIPT, tiny_overrides

ROOT = REPO
SCRIPT = RUN_SCRIPT
DIGITS = f"custom_reward_function.path={DIGIT_REWARD_FILE}"
HOOK = Path(__file__).resolve().parent / "multiprocess_hook"
TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(hook_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a launch: this checkout first on PYTHONPATH (+ the test hook), a free port, 1 thread."""
    paths = [str(HOOK)] if hook_dir else []
    paths += [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "OMP_NUM_THREADS": "1",
           "MASTER_PORT": str(_free_port()), "PYTHON": sys.executable, **extra}
    if hook_dir:
        env["DSG_TEST_HOOK_DIR"] = str(hook_dir)
    return env


def _script(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen([str(SCRIPT), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **kwargs)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, out[-3000:]
    return out


def _steps_logged(out: str, total: int) -> list[int]:
    return [int(line.split()[1].split("/")[0]) for line in out.splitlines() if line.startswith("step ") and f"/{total} |" in line]


def _setup(tiny_model_dir: Path, tmp_path: Path, steps: int) -> tuple[Path, list[str]]:
    run = tmp_path / "run"
    overrides = [o for o in tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=steps)
                 if not o.startswith("trainer.default_local_dir=")]
    return run, overrides


def _checkpoints(run: Path) -> list[str]:
    return sorted(p.name for p in run.glob("global_step_*"))


def _lora(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


# ----------------------------------------------------------------------------------------- 2 CPU processes


@pytest.mark.slow
def test_two_cpu_processes_train_validate_and_checkpoint(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch

    run, overrides = _setup(tiny_model_dir, tmp_path, steps=3)
    hook = tmp_path / "hook"
    hook.mkdir()
    out = _finish(_script(["2", str(run), *overrides, DIGITS, "trainer.test_freq=1", "trainer.val_before_train=True"],
                          _env(hook)))

    assert out.count("2 CPU processes over gloo") == 1 and _steps_logged(out, 3) == [0, 1, 2, 3]  # one writer
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2, 3] and math.isfinite(rows[0]["val/accuracy"])  # 0: before training
    rows = rows[1:]
    for key in ("critic/score/mean", "actor/loss", "actor/kl_loss", "val/accuracy"):
        assert all(math.isfinite(r[key]) for r in rows), key
    assert _checkpoints(run) == ["global_step_1", "global_step_2", "global_step_3"]
    for step in (1, 2, 3):  # published after both ranks wrote their RNG state
        ckpt = run / f"global_step_{step}"
        assert is_complete_checkpoint(ckpt) and (ckpt / "rng_state_0.pth").is_file() and (ckpt / "rng_state_1.pth").is_file()
    assert not list(run.glob("checkpoint-*")) and (run / LATEST_FILE).read_text().strip() == "3"

    # DDP kept the replicas identical; they moved; rank 0's weights are the published adapter
    rank0, rank1 = _lora(hook / "rank0.safetensors"), _lora(hook / "rank1.safetensors")
    assert rank0.keys() == rank1.keys() and all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert any(rank0[k].abs().sum() > 0 for k in rank0 if "lora_B" in k)  # B starts at 0
    saved = _lora(run / "global_step_3" / "adapter" / "adapter_model.safetensors")
    assert all(torch.equal(rank0[k.replace(".weight", ".default.weight")], v) for k, v in saved.items())
    # each rank's verifier pool gets its share of the cores; validation (2 problems) is sharded: 1 per rank, 4 times
    for rank in (0, 1):
        info = json.loads((hook / f"rank{rank}.json").read_text())
        assert info == {"pool_size": max(1, min(8, (os.cpu_count() or 2) // 2)), "local_world_size": "2",
                        "val_shards": [1, 1, 1, 1]}

    # a 1-process run from the same seed saves an adapter of the same shape
    single = tmp_path / "single"
    _finish(_script(["0", str(single), *overrides, "trainer.total_training_steps=1", "trainer.test_freq=0"], _env()))
    reference = _lora(single / "global_step_1" / "adapter" / "adapter_model.safetensors")
    assert {k: v.shape for k, v in reference.items()} == {k: v.shape for k, v in saved.items()}


@pytest.mark.slow
def test_two_cpu_processes_killed_then_resumed(tiny_model_dir: Path, tmp_path: Path) -> None:
    """kill -9 of the whole process group after the second checkpoint; the same command continues from step 2."""
    run, overrides = _setup(tiny_model_dir, tmp_path, steps=4)
    hook = tmp_path / "hook"
    hook.mkdir()
    args, env = ["2", str(run), *overrides], _env(hook, DSG_TEST_WARM_POOL="1")
    proc = _script(args, env, start_new_session=True)
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not (run / LATEST_FILE).is_file() or (run / LATEST_FILE).read_text().strip() != "2":
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "no second checkpoint in time"
            time.sleep(0.05)
        ranks = _rank_pids(run)
        workers = [pid for rank in (0, 1) for pid in json.loads((hook / f"workers{rank}.json").read_text())]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert len(ranks) == 2 and len(workers) == 2 * max(1, min(8, (os.cpu_count() or 2) // 2))
    _wait_gone(ranks + workers)  # ranks (own sessions under torch elastic) exit with the launcher, workers with them
    assert (run / LATEST_FILE).read_text().strip() == "2" and "global_step_4" not in _checkpoints(run)

    out = _finish(_script(args, env))
    assert f"resuming {run} from global_step_2" in out
    assert _steps_logged(out, 4) == [3, 4]
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3, 4]
    assert _checkpoints(run) == [f"global_step_{s}" for s in (1, 2, 3, 4)] and not list(run.glob("checkpoint-*"))


def _rank_pids(run: Path) -> list[int]:
    """The ranks training into ``run`` (found by their command line; not the launcher)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"deepscaler_grpo.training" in cmd and f"trainer.default_local_dir={run}".encode() in cmd and b"launch" not in cmd:
            pids.append(int(proc.name))
    return pids


def _wait_gone(pids: list[int], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while any(Path(f"/proc/{pid}").exists() and b"Z" not in _state(pid) for pid in pids):
        assert time.monotonic() < deadline, f"processes {pids} outlived their launcher"
        time.sleep(0.1)


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1][:3]
    except OSError:
        return b"Z"


@pytest.mark.slow
def test_two_nodes_one_process_each_on_localhost(tiny_model_dir: Path, tmp_path: Path) -> None:
    run, overrides = _setup(tiny_model_dir, tmp_path, steps=2)
    env = _env(NNODES="2", MASTER_ADDR="127.0.0.1")
    nodes = [_script(["1", str(run), *overrides], {**env, "NODE_RANK": str(rank)}) for rank in (0, 1)]
    outs = [_finish(node) for node in nodes]
    assert _steps_logged(outs[0], 2) == [1, 2] and _steps_logged(outs[1], 2) == []  # global rank 0 writes
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2]
    assert _checkpoints(run) == ["global_step_1", "global_step_2"]
    assert all((run / "global_step_2" / f"rng_state_{r}.pth").is_file() for r in (0, 1))

    # node 1 without the shared run dir: the nodes disagree on the checkpoint, both stop with the fix
    env = _env(NNODES="2", MASTER_ADDR="127.0.0.1")
    more = [*overrides, "trainer.total_training_steps=3"]
    nodes = [_script(["1", str(path), *more], {**env, "NODE_RANK": str(rank)})
             for rank, path in ((0, run), (1, tmp_path / "node1-local"))]
    for node in nodes:
        out, _ = node.communicate(timeout=TIMEOUT_S)
        assert node.returncode != 0 and "found different checkpoints to resume from" in out, out[-3000:]
        assert "on a filesystem shared by every node" in out
    assert _checkpoints(run) == ["global_step_1", "global_step_2"]


@pytest.mark.slow
def test_wrong_process_count_fails_fast(tiny_model_dir: Path, tmp_path: Path) -> None:
    """torchrun with 2 processes but trainer.n_gpus_per_node left at 1: every rank stops before loading the model."""
    run, overrides = _setup(tiny_model_dir, tmp_path, steps=2)
    env = _env()
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", env["MASTER_PORT"],
         "-m", "deepscaler_grpo.training", *overrides, f"trainer.default_local_dir={run}"],
        env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
    )
    assert proc.returncode != 0
    assert proc.stderr.count("1 processes expected, but this run has 2") == 1  # said once (local rank 0)
    assert "set trainer.n_gpus_per_node=2 trainer.nnodes=1" in proc.stderr  # (the traceback is torchrun's own report)
    assert not run.exists()


def test_cpu_note_and_launcher_watch_only_where_they_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from deepscaler_grpo.training.distributed import cpu_note, exit_with_launcher

    assert "2 CPU processes over gloo" in cpu_note(SimpleNamespace(num_processes=2), cuda=False)
    assert cpu_note(SimpleNamespace(num_processes=1), cuda=False) is None
    assert cpu_note(SimpleNamespace(num_processes=8), cuda=True) is None
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert exit_with_launcher() is False  # a plain process (python -m ..., nohup) is never tied to its parent


def test_verifier_pools_share_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from deepscaler_grpo.reward.sandbox import default_pool_size

    monkeypatch.delenv("DEEPSCALER_VERIFIER_WORKERS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert default_pool_size(2) == 2 and default_pool_size(64) == 8  # one process: 2..8 as before
    assert default_pool_size(2, local_processes=2) == 1  # 2 processes x 1 worker on 2 cores
    assert default_pool_size(16, local_processes=8) == 2 and default_pool_size(128, local_processes=8) == 8
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # set by torchrun / accelerate launch
    assert default_pool_size(8) == 2
    monkeypatch.setenv("DEEPSCALER_VERIFIER_WORKERS", "3")
    assert default_pool_size(8) == 3


# ------------------------------------------------------------------------------------- --config and configs/


def _dry_run(args: list[str], **env: str) -> list[str]:
    proc = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, "DRY_RUN": "1", **env})
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    return words[words.index("deepscaler_grpo.training") + 1 :]


def test_script_recipe_is_the_config_defaults() -> None:
    argv = _dry_run(["1", "runs/x"])
    assert len(argv) > 20  # the recipe is spelled out
    script_defaults = {key: value for key, value in (word.split("=", 1) for word in argv)}
    assert load_config(argv) == load_config(["trainer.default_local_dir=runs/x"])
    assert "actor_rollout_ref.rollout.n" in script_defaults and "data.train_batch_size" in script_defaults


@pytest.mark.parametrize("position", ["first", "after_save_path", "equals"])
def test_script_config_file_precedence(position: str) -> None:
    file = str(ROOT / "configs" / "cpu_smoke.yaml")
    args = {"first": ["--config", file, "2", "runs/x"], "after_save_path": ["2", "runs/x", "--config", file],
            "equals": [f"--config={file}", "2", "runs/x"]}[position]
    argv = _dry_run([*args, "trainer.total_training_steps=7"])
    parsed = build_parser().parse_args(argv)
    assert parsed.config == file and "data.train_batch_size=64" not in argv  # the recipe does not override the file
    cfg = load_config(parsed.overrides, parsed.config)
    assert cfg.data.train_batch_size == 4 and cfg.actor_rollout_ref.rollout.name == "hf"  # file > recipe
    assert cfg.trainer.total_training_steps == 7 and cfg.trainer.default_local_dir == "runs/x"  # key=value > file
    assert cfg.trainer.n_gpus_per_node == 2


def test_script_refuses_a_missing_config_file() -> None:
    proc = subprocess.run([str(SCRIPT), "--config", "nope.yaml", "1", "runs/x"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--config nope.yaml: no such file" in proc.stderr


def test_demo_config_file_is_the_demo_settings() -> None:
    from deepscaler_grpo.demo.pipeline import DemoConfig, grpo_config

    demo = grpo_config(DemoConfig(), Path("demo_run/data"), Path("demo_run/sft_model"), Path("demo_run/grpo_run"))
    shipped = load_config([], str(ROOT / "configs" / "demo.yaml"))
    assert shipped == with_values(demo, {"trainer.resume_mode": "auto"})  # the demo itself always starts over


@pytest.mark.slow
def test_cpu_smoke_config_through_the_script(tiny_model_dir: Path, tmp_path: Path) -> None:
    run, overrides = _setup(tiny_model_dir, tmp_path, steps=2)
    paths = [o for o in overrides if o.split("=", 1)[0] in {"actor_rollout_ref.model.path", "data.train_files", "data.val_files"}]
    out = _finish(_script(["--config", str(ROOT / "configs" / "cpu_smoke.yaml"), "0", str(run), *paths,
                           "trainer.total_training_steps=2"], _env()))
    assert _steps_logged(out, 2) == [1, 2]
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2] and all("val/accuracy" in r for r in rows)  # test_freq=1 from the file
    assert _checkpoints(run) == ["global_step_1", "global_step_2"]
    assert "experiment_name: cpu-smoke" in (run / "config.yaml").read_text()


def test_script_help_prints_usage_without_an_error() -> None:
    proc = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: ") and "error" not in proc.stdout + proc.stderr
