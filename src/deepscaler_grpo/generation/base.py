"""What every generation backend shares: the :class:`Sampling` settings, the :class:`Backend` interface, and how
chat prompts become token ids and where generation stops.

    from deepscaler_grpo.generation import Sampling, prompt_token_ids, stop_token_ids
    ids = prompt_token_ids(tokenizer, [[{"role": "user", "content": "1+1?"}]])

Training (TRL renders its own prompts with the same chat template), validation, ``eval`` and the vLLM engine
all render prompts through :func:`deepscaler_grpo.models.render_prompts` and tokenize without special tokens,
so a prompt becomes the same token ids on every path (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from deepscaler_grpo.models import render_prompts

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
    """Anything that turns chat prompts into ``n`` response texts each."""

    name: str

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[list[str]]: ...


def prompt_token_ids(tokenizer: PreTrainedTokenizerBase, prompts: list[Messages | str]) -> list[list[int]]:
    """The token ids generation starts from: chat template with the generation prompt, no extra special tokens."""
    texts = render_prompts(tokenizer, prompts)
    return tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []


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
