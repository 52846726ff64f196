"""Run ``deepscaler-grpo train`` in its own process for tests/test_vllm_rollout.py, with test hooks.

    python tests/vllm_train_run.py --report R.json [--skip-sync N] -- key=value ...

* rewards: the share of digit characters in a response (dense, so a random tiny model gets advantages);
* ``--skip-sync N``: the N-th adapter sync does nothing (the engine keeps the previous adapter: stale rollouts);
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


def digit_reward_funcs(format_weight: float = 0.0, boxed_fallback: bool = True, **kwargs: Any) -> tuple[list, list]:
    def digit_share(completions: list, **kw: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [sum(ch.isdigit() for ch in t) / max(len(t), 1) for t in texts]

    return [digit_share], [1.0]


def skip_nth_sync(n: int) -> None:
    from deepscaler_grpo.vllm_rollout import AdapterVLLMGenerationMixin

    original = AdapterVLLMGenerationMixin.sync_weights
    calls = {"count": 0}

    def sync_weights(self: Any) -> None:
        calls["count"] += 1
        if calls["count"] != n:
            original(self)

    AdapterVLLMGenerationMixin.sync_weights = sync_weights


def greedy_pair(trainer: Any, tokenizer: Any, max_tokens: int) -> dict[str, list[list[str]]]:
    """The same prompts, greedy, from the trainer's vLLM engine (synced adapter) and from HF + PEFT."""
    from deepscaler_grpo.evaluation.generation import generate_hf, stop_token_ids
    from deepscaler_grpo.hf import render_prompts

    ids = tokenizer(render_prompts(tokenizer, PROMPTS), add_special_tokens=False)["input_ids"]
    sampling = {"n": 1, "temperature": 0.0, "max_tokens": max_tokens, "stop_token_ids": stop_token_ids(tokenizer)}
    vllm = trainer.rollout_texts(ids, sampling)
    model = trainer.accelerator.unwrap_model(trainer.model)
    hf = generate_hf(model, tokenizer, PROMPTS, n=1, temperature=0.0, max_tokens=max_tokens, batch_size=1, progress=False)
    return {"vllm": vllm, "hf": hf}


def reporting_callback(report: Path, trainer: Any, tokenizer: Any, max_tokens: int) -> Any:
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            self.begin_step = state.global_step
            self.begin = {k: v.detach().clone() for k, v in model.state_dict().items()}

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            import torch

            end = model.state_dict()
            lora = [k for k in end if "lora_" in k]
            out = {
                "begin_step": self.begin_step,
                "lora_changed": any(not torch.equal(self.begin[k], end[k]) for k in lora),
                "base_unchanged": all(torch.equal(self.begin[k], end[k]) for k in end if "lora_" not in k),
                "sync_version": trainer.vllm_generation.sync_stats.version if trainer.use_vllm else 0,
                **(greedy_pair(trainer, tokenizer, max_tokens) if trainer.use_vllm else {}),
            }
            report.write_text(json.dumps(out))

    return Report()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", type=Path)
    parser.add_argument("--skip-sync", type=int, default=0)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)

    from deepscaler_grpo import reward, train

    reward.make_reward_funcs = digit_reward_funcs
    if args.skip_sync:
        skip_nth_sync(args.skip_sync)
    if args.report:
        original = train.build_callbacks

        def build_callbacks(cfg: Any, trainer: Any, *rest: Any, **kwargs: Any) -> list:
            extra = reporting_callback(args.report, trainer, trainer.processing_class, cfg.data.max_response_length)
            return [*original(cfg, trainer, *rest, **kwargs), extra]

        train.build_callbacks = build_callbacks
    return train.main(args.overrides)


if __name__ == "__main__":
    sys.exit(main())
