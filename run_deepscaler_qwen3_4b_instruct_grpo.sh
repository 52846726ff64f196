#!/usr/bin/env bash
# The seed recipe: GRPO + LoRA (r=64, alpha=32) on Qwen/Qwen3-4B-Instruct-2507 with the DeepScaleR data.
#
#   ./run_deepscaler_qwen3_4b_instruct_grpo.sh [--config FILE] <n_gpus_per_node> <save_path> [key=value ...]
#
#   ./run_deepscaler_qwen3_4b_instruct_grpo.sh 1 runs/qwen3-4b-grpo                 # one GPU (or CPU with 0)
#   ./run_deepscaler_qwen3_4b_instruct_grpo.sh 8 runs/qwen3-4b-grpo trainer.total_training_steps=100
#   ./run_deepscaler_qwen3_4b_instruct_grpo.sh --config configs/cpu_smoke.yaml 2 runs/smoke  # 2 CPU processes
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 ./run_deepscaler_qwen3_4b_instruct_grpo.sh 8 /shared/runs/x   # node 0
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 ./run_deepscaler_qwen3_4b_instruct_grpo.sh 8 /shared/runs/x   # node 1
#
# More than one process in total -> `accelerate launch` (one process per GPU, all nodes; on a machine without
# CUDA, n_gpus_per_node CPU processes over gloo, the same code path); otherwise plain python. Settings: the
# recipe below < --config FILE < key=value. Rerunning with the same save_path resumes from its newest complete
# checkpoint. Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), MASTER_PORT (29500),
# PYTHON (python), DRY_RUN=1 prints the command instead of running it. Data: `deepscaler-grpo prepare` first.
set -euo pipefail

help_text() {
    cat <<'EOF'
usage: ./run_deepscaler_qwen3_4b_instruct_grpo.sh [--config FILE] <n_gpus_per_node> <save_path> [key=value ...]
  --config FILE    YAML with config keys (layout of `deepscaler-grpo train --print-config`), e.g. configs/*.yaml
  n_gpus_per_node  GPUs per node; without CUDA that many CPU processes (0 = one CPU process)
  save_path        run directory: checkpoints, metrics.jsonl, config.yaml (reused -> resume)
  key=value        verl-style overrides, see `deepscaler-grpo train --print-config`
precedence: the recipe (= the config defaults) < --config FILE < key=value
env: NNODES NODE_RANK MASTER_ADDR MASTER_PORT PYTHON DRY_RUN
EOF
}

usage() {  # a usage error: the reason, then the help, on stderr; exit 2
    echo "error: $*" >&2
    help_text >&2
    exit 2
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    help_text
    exit 0
fi

CONFIG_FILE=""
POSITIONAL=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --config) [[ $# -ge 2 ]] || usage "--config needs a file"; CONFIG_FILE=$2; shift 2 ;;
        --config=*) CONFIG_FILE=${1#--config=}; shift ;;
        *) POSITIONAL+=("$1"); shift ;;
    esac
done
set -- ${POSITIONAL[@]+"${POSITIONAL[@]}"}
[[ -z "$CONFIG_FILE" || -f "$CONFIG_FILE" ]] || usage "--config $CONFIG_FILE: no such file (see configs/ for examples)"
[[ $# -ge 2 ]] || usage "expected at least 2 arguments, got $#"
N_GPUS=$1
SAVE_PATH=$2
shift 2
[[ "$N_GPUS" =~ ^[0-9]+$ ]] || usage "n_gpus_per_node must be a non-negative integer, got '$N_GPUS'"
[[ -n "$SAVE_PATH" && "$SAVE_PATH" != *=* && "$SAVE_PATH" != -* ]] || usage "save_path must be a directory path, got '$SAVE_PATH'"
for arg in "$@"; do
    [[ "$arg" == *=* && "$arg" != -* ]] || usage "overrides must be key=value, got '$arg'"
done
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-29500}
PYTHON=${PYTHON:-python}
[[ "$NNODES" =~ ^[1-9][0-9]*$ ]] || usage "NNODES must be a positive integer, got '$NNODES'"
[[ "$NODE_RANK" =~ ^[0-9]+$ && "$NODE_RANK" -lt "$NNODES" ]] || usage "NODE_RANK must be in [0, NNODES), got '$NODE_RANK'"

# The recipe, spelled out. These are exactly the config defaults (tests/test_multiprocess.py checks it), so
# with --config FILE they are left out of the command and the file overrides them; key=value wins over both.
RECIPE=(
    data.train_files=data/deepscaler/train.parquet
    data.val_files=data/deepscaler/val.parquet
    data.train_batch_size=64
    data.max_prompt_length=1024
    data.max_response_length=2048
    actor_rollout_ref.model.path=Qwen/Qwen3-4B-Instruct-2507
    actor_rollout_ref.model.lora_rank=64
    actor_rollout_ref.model.lora_alpha=32
    actor_rollout_ref.model.enable_gradient_checkpointing=True
    actor_rollout_ref.actor.optim.lr=2e-5
    actor_rollout_ref.actor.ppo_mini_batch_size=32
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2
    actor_rollout_ref.actor.use_kl_loss=True
    actor_rollout_ref.actor.kl_loss_coef=0.001
    actor_rollout_ref.actor.kl_loss_type=low_var_kl
    actor_rollout_ref.actor.entropy_coeff=0
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n=5
    actor_rollout_ref.rollout.gpu_memory_utilization=0.6
    trainer.total_training_steps=50
    trainer.save_freq=20
    trainer.test_freq=5
    trainer.logger=console
)
if [[ -n "$CONFIG_FILE" ]]; then
    ARGS=(--config "$CONFIG_FILE")
else
    ARGS=("${RECIPE[@]}")
fi
ARGS+=("trainer.n_gpus_per_node=$N_GPUS" "trainer.nnodes=$NNODES" "trainer.default_local_dir=$SAVE_PATH" "$@")

NUM_PROCESSES=$(( (N_GPUS > 0 ? N_GPUS : 1) * NNODES ))
if (( NUM_PROCESSES > 1 )); then
    CMD=(accelerate launch --multi_gpu --num_processes "$NUM_PROCESSES" --num_machines "$NNODES"
         --machine_rank "$NODE_RANK" --main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT"
         --mixed_precision no --dynamo_backend no -m deepscaler_grpo.training "${ARGS[@]}")
else
    CMD=("$PYTHON" -m deepscaler_grpo.training "${ARGS[@]}")
fi

if [[ "${DRY_RUN:-0}" == 1 ]]; then
    printf '%q ' "${CMD[@]}"
    echo
    exit 0
fi
if (( NUM_PROCESSES > 1 )); then
    # Check the config once, in one process, before the launcher starts several: a bad key or batch geometry is
    # then one line and exit 2, not one line per rank plus the launcher's traceback.
    "$PYTHON" -m deepscaler_grpo.training --check-only "${ARGS[@]}" || exit $?
fi
exec "${CMD[@]}"
