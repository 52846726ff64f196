"""Hugging Face ``generate`` as a generation backend: batched, left-padded, longest prompts first, stopping at the
model's end-of-turn ids, with a forked seeded RNG (validation inside training leaves the trainer's stream alone).

    from deepscaler_grpo.generation import HFBackend, Sampling
    texts = HFBackend(model, tokenizer).generate(prompts, Sampling(n=1, temperature=0.0, max_tokens=256))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.generation.base import Messages, Sampling, prompt_token_ids, stop_token_ids
from deepscaler_grpo.models import render_prompts

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


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
    lengths = [len(ids) for ids in prompt_token_ids(tokenizer, texts)]
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

    # leave=False: the bar goes when done (inside training it would leave an empty line between two step lines)
    with torch.inference_mode(), tqdm(total=len(texts), desc="generate", disable=not progress, leave=False) as bar:
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


