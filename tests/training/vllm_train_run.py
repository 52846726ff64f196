"""Run ``deepscaler-grpo train`` in its own process for tests/training/test_vllm_sync.py, with test hooks.

    python tests/training/vllm_train_run.py --report R.json [--skip-sync N] -- key=value ...

* rewards: the share of digit characters in a response (dense, so a random tiny model gets advantages), given to
  ``run_training`` as a Python user does;
* ``--skip-sync N``: the N-th adapter sync does nothing (the engine keeps the previous adapter: stale rollouts);
* ``--break-adapter-swap``: TRL builds its own vLLM backend (as a TRL that constructs it another way would): the run
  must stop with AdapterSyncError instead of pushing full weights;
* ``--report``: JSON with the optimizer step training started from, whether LoRA / base weights changed, and
  greedy generations of the final policy from the trainer's vLLM engine and from HF ``generate``.

vLLM starts its engine in this process (external launcher), so it runs apart from pytest, under a main guard.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PROMPTS = [[{"role": "user", "content": f"What is {i} + {2 * i}? Answer in <answer></answer>."}] for i in range(6)]


def skip_nth_sync(n: int) -> None:
    from deepscaler_grpo.training.vllm_sync import AdapterVLLMGenerationMixin

    original = AdapterVLLMGenerationMixin.sync_weights
    calls = {"count": 0}

    def sync_weights(self: Any) -> None:
        calls["count"] += 1
        if calls["count"] != n:
            original(self)

    AdapterVLLMGenerationMixin.sync_weights = sync_weights


def greedy_pair(trainer: Any, tokenizer: Any, max_tokens: int) -> dict[str, list[list[str]]]:
    """The same prompts, greedy, from the trainer's vLLM engine (synced adapter) and from HF + PEFT."""
    from deepscaler_grpo.generation import generate_hf, stop_token_ids
    from deepscaler_grpo.models import render_prompts

    ids = tokenizer(render_prompts(tokenizer, PROMPTS), add_special_tokens=False)["input_ids"]
    sampling = {"n": 1, "temperature": 0.0, "max_tokens": max_tokens, "stop_token_ids": stop_token_ids(tokenizer)}
    vllm = trainer.rollout_texts(ids, sampling)
    model = trainer.accelerator.unwrap_model(trainer.model)
    hf = generate_hf(model, tokenizer, PROMPTS, n=1, temperature=0.0, max_tokens=max_tokens, batch_size=1, progress=False)
    return {"vllm": vllm, "hf": hf}


def reporting_callback(report: Path, max_tokens: int) -> Any:
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        def on_trainer_built(self, trainer: Any) -> None:
            self.trainer = trainer

        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            self.begin_step = state.global_step
            self.begin = {k: v.detach().clone() for k, v in model.state_dict().items()}

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            import torch

            trainer = self.trainer
            end = model.state_dict()
            lora = [k for k in end if "lora_" in k]
            out = {
                "begin_step": self.begin_step,
                "lora_changed": any(not torch.equal(self.begin[k], end[k]) for k in lora),
                "base_unchanged": all(torch.equal(self.begin[k], end[k]) for k in end if "lora_" not in k),
                "sync_version": trainer.vllm_generation.sync_stats.version if trainer.use_vllm else 0,
                **(greedy_pair(trainer, trainer.processing_class, max_tokens) if trainer.use_vllm else {}),
            }
            report.write_text(json.dumps(out))

    return Report()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", type=Path)
    parser.add_argument("--skip-sync", type=int, default=0)
    parser.add_argument("--break-adapter-swap", action="store_true")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)

    from deepscaler_grpo.config import load_config
    from deepscaler_grpo.errors import UserError, report_error
    from deepscaler_grpo.training import run_training
    from tests.helpers import digit_share

    if args.skip_sync:
        skip_nth_sync(args.skip_sync)
    if args.break_adapter_swap:
        import contextlib

        from deepscaler_grpo import compat

        compat.grpo_vllm_generation_class = lambda factory: contextlib.nullcontext()
    try:
        cfg = load_config(args.overrides)
        callbacks = [reporting_callback(args.report, cfg.data.max_response_length)] if args.report else []
        run_training(cfg, reward_funcs=[digit_share], callbacks=callbacks)
    except UserError as exc:
        return report_error("train", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
