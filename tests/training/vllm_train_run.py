"""Run ``deepscaler-grpo train`` in its own process for tests/training/test_vllm_sync.py, with test hooks.

    python tests/training/vllm_train_run.py --report R.json [--skip-sync N] [--kill-after-step N] [--break-adapter-swap] -- key=value ...

* rewards: the share of digit characters in a response (dense, so a random tiny model gets advantages), given to
  ``run_training`` as a Python user does;
* ``--skip-sync N``: the N-th adapter sync does nothing (the engine keeps the previous adapter: stale rollouts);
* ``--break-adapter-swap``: TRL builds its own vLLM backend (as a TRL that constructs it another way would): the run
  must stop with AdapterSyncError instead of pushing full weights;
* ``--kill-after-step N``: SIGKILL right after ``global_step_N`` is published;
* ``--report``: JSON with the optimizer step training started from, whether LoRA / base weights changed, greedy
  generations of the final policy from the trainer's vLLM engine and from HF ``generate``, the prompts' token ids
  as TRL, our generation layer and the engine's own chat rendering make them, how the engine's greedy answer
  to :data:`STOP_PROBE` ended, and, per trainer built (one per length-schedule stage), whether the previous one's
  model was freed, how many vLLM engines the process started and whether every stage ran on the same one.

vLLM starts its engine in this process (external launcher), so it runs apart from pytest, under a main guard.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PROMPTS = [[{"role": "user", "content": f"What is {i} + {2 * i}? Answer in <answer></answer>."}] for i in range(6)]
STOP_PROBE = [{"role": "user", "content": "What is 17 + 25?"}]


ENGINES_STARTED = {"count": 0}


def count_engines() -> None:
    """Count ``vllm.LLM`` constructions in this process (the engine itself is untouched)."""
    from vllm import LLM

    original = LLM.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        ENGINES_STARTED["count"] += 1
        original(self, *args, **kwargs)

    LLM.__init__ = init


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


def template_ids(trainer: Any, tokenizer: Any) -> dict[str, list[list[int]]]:
    """PROMPTS as token ids: TRL's own rendering (training), ours (validation, eval, vLLM generate), and the
    engine's chat rendering (``LLM.chat``)."""
    from vllm import SamplingParams

    from deepscaler_grpo.generation import prompt_token_ids

    engine = trainer.vllm_generation.llm
    chats = engine.chat(PROMPTS, SamplingParams(max_tokens=1), use_tqdm=False)
    return {"trl": [list(ids) for ids in trainer._tokenize_prompts(PROMPTS)[0]],
            "ours": prompt_token_ids(tokenizer, PROMPTS), "engine": [list(out.prompt_token_ids) for out in chats]}


def stop_probe(trainer: Any, tokenizer: Any, max_tokens: int = 128) -> dict[str, Any]:
    """The engine's greedy answer to STOP_PROBE with the current adapter: its token ids and why it ended."""
    from vllm import SamplingParams

    from deepscaler_grpo.generation import prompt_token_ids, stop_token_ids

    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, stop_token_ids=stop_token_ids(tokenizer))
    ids = prompt_token_ids(tokenizer, [STOP_PROBE])[0]
    out = trainer.vllm_generation.llm.generate([{"prompt_token_ids": ids}], params, use_tqdm=False)[0].outputs[0]
    return {"token_ids": list(out.token_ids), "finish_reason": out.finish_reason, "text": out.text,
            "max_tokens": max_tokens, "stop_ids": stop_token_ids(tokenizer)}


def reporting_callback(report: Path, max_tokens: int) -> Any:
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        """Written when each trainer is built (a killed run keeps what it saw) and at the end of its training."""

        def __init__(self) -> None:
            self.engines: list[Any] = []  # strong references: a second engine could not reuse a freed one's id
            self.refs: list[Any] = []  # the previous stage's model and a LoRA parameter (the optimizer holds those)
            self.data: dict[str, Any] = {"trainers_built": 0, "previous_stage_freed": []}

        def on_trainer_built(self, trainer: Any) -> None:
            import weakref

            if self.refs:  # the previous stage's model and parameters must be garbage by now (no gc run here)
                self.data["previous_stage_freed"].append(all(ref() is None for ref in self.refs))
            self.trainer_ref = weakref.ref(trainer)  # this callback outlives the stage: it must not keep it alive
            lora = next(p for name, p in trainer.model.named_parameters() if "lora_B" in name)
            self.refs = [weakref.ref(trainer.model), weakref.ref(lora)]
            if trainer.use_vllm:
                self.engines.append(trainer.vllm_generation.llm._llm)
            self.data["trainers_built"] += 1
            self._write()

        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            self.data["begin_step"] = state.global_step
            self.begin = {k: v.detach().clone() for k, v in model.state_dict().items()}

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            import torch

            trainer = self.trainer_ref()
            end = model.state_dict()
            lora = [k for k in end if "lora_" in k]
            self.data.update({
                "lora_changed": any(not torch.equal(self.begin[k], end[k]) for k in lora),
                "base_unchanged": all(torch.equal(self.begin[k], end[k]) for k in end if "lora_" not in k),
                "sync_version": trainer.vllm_generation.sync_stats.version if trainer.use_vllm else 0,
                **(greedy_pair(trainer, trainer.processing_class, max_tokens) if trainer.use_vllm else {}),
                **({"template": template_ids(trainer, trainer.processing_class),
                    "stop": stop_probe(trainer, trainer.processing_class)} if trainer.use_vllm else {}),
            })
            self._write()

        def _write(self) -> None:
            self.data["engines_started"] = ENGINES_STARTED["count"]
            self.data["one_engine"] = all(engine is self.engines[0] for engine in self.engines)
            report.write_text(json.dumps(self.data))

    return Report()


def kill_after_checkpoint(step: int) -> None:
    """SIGKILL this process right after ``global_step_{step}`` is published (e.g. exactly at a stage boundary)."""
    import os
    import signal

    from deepscaler_grpo.training import trainer

    publish = trainer.publish_checkpoint

    def publish_then_die(src: Any, run_dir: Any, at: int, keep: Any = None) -> Any:
        path = publish(src, run_dir, at, keep)
        if at == step:
            os.kill(os.getpid(), signal.SIGKILL)
        return path

    trainer.publish_checkpoint = publish_then_die


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", type=Path)
    parser.add_argument("--skip-sync", type=int, default=0)
    parser.add_argument("--kill-after-step", type=int, default=0)
    parser.add_argument("--break-adapter-swap", action="store_true")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)

    from deepscaler_grpo.config import load_config
    from deepscaler_grpo.errors import UserError, report_error
    from deepscaler_grpo.generation.vllm import vllm_installed
    from deepscaler_grpo.training import run_training
    from tests.helpers import digit_share

    if args.skip_sync:
        skip_nth_sync(args.skip_sync)
    if args.kill_after_step:
        kill_after_checkpoint(args.kill_after_step)
    if vllm_installed():
        count_engines()
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
