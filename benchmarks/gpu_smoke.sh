#!/usr/bin/env bash
# GPU smoke check: the pipeline on CUDA in bf16 with Hugging Face rollouts, on a tiny Qwen3 model built on the spot,
# one process: prepare -> 2 GRPO steps (a checkpoint each) -> a rerun that resumes from global_step_2 and trains step
# 3 -> eval of the final adapter. Checks what came out (steps, checkpoints, bf16, LoRA moved, eval summary) and
# prints each stage's wall time. Fits in 10 minutes on one GPU (most of it is process start-up).
#
#   bash benchmarks/gpu_smoke.sh                      # on a CUDA machine; outputs in a new $OUT/gpu_smoke.XXXXXX (or under /tmp)
#   GPU_SMOKE_ALLOW_CPU=1 bash benchmarks/gpu_smoke.sh   # dry run of every non-CUDA part on CPU (fp32)
#
# Machines without TRL (or its pure-Python needs) and without network: carry the wheels in .whl/ (gitignored) and
# the script installs those into /tmp/site first (--no-deps, nothing else is fetched). Download them here with:
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#       trl==1.16.0 datasets==4.8.4 dill==0.4.1 multiprocess==0.70.19 omegaconf==2.4.0 \
#       antlr4-python3-runtime==4.13.2 math-verify==0.9.0 latex2sympy2_extended==1.11.0
#
# (2.4 MB; datasets 4.8 rather than 5.x because 5.x needs pyarrow >= 24 and huggingface-hub >= 1.31. torch,
# transformers, peft, accelerate, pandas, pyarrow, rich, matplotlib, sympy and pyyaml are expected there.) With the
# device tool: carry [".whl"], command `bash benchmarks/gpu_smoke.sh`, timeout 600.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
PY="${PYTHON:-python3}"
mkdir -p "${OUT:-${TMPDIR:-/tmp}}"
WORK="$(mktemp -d "${OUT:-${TMPDIR:-/tmp}}/gpu_smoke.XXXXXX")"  # a fresh folder each run: a rerun never meets the last one's outputs
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false WANDB_MODE=disabled

stamp() { echo "[gpu_smoke $(date +%H:%M:%S) +${SECONDS}s] $*"; }

if ls .whl/*.whl >/dev/null 2>&1 && [ -z "${GPU_SMOKE_NO_WHEELS:-}" ]; then
    stamp "installing $(ls .whl/*.whl | wc -l) carried wheels into /tmp/site"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"

DEVICE=$("$PY" - <<'EOF'
import os, torch
if torch.cuda.is_available():
    print("cuda")
elif os.environ.get("GPU_SMOKE_ALLOW_CPU"):
    print("cpu")
else:
    raise SystemExit("no CUDA device: run on a GPU machine (or GPU_SMOKE_ALLOW_CPU=1 for a dry run on CPU)")
EOF
)
"$PY" - <<'EOF'
import importlib.metadata as m, torch
names = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")
print("versions:", ", ".join(f"{n} {m.version(n)}" for n in names))
if torch.cuda.is_available():
    print("device:", torch.cuda.get_device_name(0), "bf16:", torch.cuda.is_bf16_supported())
EOF
stamp "device: $DEVICE, outputs in $WORK"

stamp "tiny model and problems"
"$PY" -m deepscaler_grpo.demo.tiny "$WORK/tiny" >/dev/null
"$PY" -m deepscaler_grpo.demo.problems "$WORK/problems" --train 64 --heldout 16 >/dev/null
"$PY" -m deepscaler_grpo.data --source "$WORK/problems/train.json" --val-source "$WORK/problems/heldout.json" \
    --output-dir "$WORK/data" --no-decontaminate --no-progress >/dev/null

TRAIN=(
    "actor_rollout_ref.model.path=$WORK/tiny" "data.train_files=$WORK/data/train.parquet"
    "data.val_files=$WORK/data/val.parquet" "data.train_batch_size=8" "data.max_prompt_length=128"
    "data.max_response_length=16" "actor_rollout_ref.actor.ppo_mini_batch_size=4" "actor_rollout_ref.rollout.n=4"
    "actor_rollout_ref.rollout.name=hf" "actor_rollout_ref.rollout.temperature=1.0"
    "actor_rollout_ref.model.lora_rank=8" "actor_rollout_ref.model.lora_alpha=16"
    "actor_rollout_ref.actor.optim.lr=1e-2" "trainer.save_freq=1" "trainer.test_freq=1"
    "trainer.n_gpus_per_node=1" "trainer.default_local_dir=$WORK/run"
    # a dense reward (the share of digits) as a verl user writes one: a random tiny model never earns the verifier's
    "custom_reward_function.path=$REPO/tests/training/rewards/digit_reward.py"
)
stamp "train: 2 steps"
"$PY" -m deepscaler_grpo.training "${TRAIN[@]}" trainer.total_training_steps=2 2>&1 | tee "$WORK/train1.log"
stamp "train: resume from global_step_2, step 3"
"$PY" -m deepscaler_grpo.training "${TRAIN[@]}" trainer.total_training_steps=3 2>&1 | tee "$WORK/train2.log"
grep -q "resuming" "$WORK/train2.log" || { echo "the second run did not resume"; exit 1; }

stamp "eval: the final adapter, greedy"
"$PY" -m deepscaler_grpo.evaluation.cli --model "$WORK/tiny" --adapter "$WORK/run/global_step_3/adapter" \
    --benchmarks "heldout=$WORK/data/val.parquet" --max-tokens 16 --backend hf --output-dir "$WORK/eval" --no-progress

stamp "checks"
DEVICE="$DEVICE" WORK="$WORK" "$PY" - <<'EOF'
import json, os
from pathlib import Path

import torch
from safetensors.torch import load_file

work, cuda = Path(os.environ["WORK"]), os.environ["DEVICE"] == "cuda"
rows = [json.loads(line) for line in (work / "run" / "metrics.jsonl").read_text().splitlines()]
assert [r["step"] for r in rows] == [0, 1, 2, 3], [r["step"] for r in rows]  # 0: validation before training
rows = rows[1:]
assert all(isinstance(r.get("timing_s/update_actor"), float) and 0 <= r["val/accuracy"] <= 1 for r in rows)
assert (work / "run" / "latest_checkpointed_iteration.txt").read_text().strip() == "3"
args = torch.load(work / "run" / "global_step_3" / "adapter" / "training_args.bin", weights_only=False)
assert (args.bf16, args.use_cpu) == (cuda, not cuda), (args.bf16, args.use_cpu)  # bf16 on the GPU, fp32 on CPU
adapter = load_file(str(work / "run" / "global_step_3" / "adapter" / "adapter_model.safetensors"))
assert any(t.abs().sum() > 0 for k, t in adapter.items() if "lora_B" in k), "LoRA B is still zero: nothing trained"
summary = json.loads((work / "eval" / "summary.json").read_text())
print("steps:", [(r["step"], round(r["timing_s/step"], 2), round(r["critic/score/mean"], 3)) for r in rows])
print("eval:", summary["benchmarks"]["heldout"], "backend", summary["run"]["backend"], "dtype", summary["run"]["dtype"])
print("adapter dtype:", {str(t.dtype) for t in adapter.values()}, "| bf16 training:", cuda)
print("OK")
EOF
stamp "done"
