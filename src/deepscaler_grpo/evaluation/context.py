"""Context budgets of an evaluation, checked before any engine starts (both backends): the longest rendered prompt
must fit ``--max-prompt-tokens``, and prompt budget + ``--max-tokens`` must fit the model's context
(``max_position_embeddings``). A prompt budget that is larger than the context allows is lowered to what is left
(with a note) when the real prompts still fit; otherwise the eval stops with one line naming the flag to change.

vLLM sizes its engine as ``max_model_len = prompt budget + max_tokens`` and refuses a length above the model's
context with a pydantic traceback; Hugging Face ``generate`` would run past the trained positions silently.

    budget = plan_budget(context=2048, longest_prompt=87, max_prompt_tokens=2048, max_tokens=1024)
    budget.max_prompt_tokens, budget.note     # 1024, "--max-prompt-tokens 2048 + --max-tokens 1024 exceed ..."
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deepscaler_grpo.errors import UserError


class ContextError(UserError):
    """Prompts or responses that do not fit the model's context; the message names the flag to change."""


@dataclass(frozen=True)
class Budget:
    """The prompt budget to use (``max_prompt_tokens``), the model's context (None: unknown) and a note when the
    requested budget was lowered."""

    max_prompt_tokens: int
    max_tokens: int
    context: int | None
    longest_prompt: int
    note: str = ""

    @property
    def max_model_len(self) -> int:
        return self.max_prompt_tokens + self.max_tokens


def model_context(config: Mapping[str, Any]) -> int | None:
    """``max_position_embeddings`` of a model config dict (a multimodal model's ``text_config`` first)."""
    config = config.get("text_config", config) or config
    value = config.get("max_position_embeddings")
    return int(value) if isinstance(value, int) and value > 0 else None


def plan_budget(context: int | None, longest_prompt: int, max_prompt_tokens: int, max_tokens: int,
                where: str = "") -> Budget:
    """The budget to generate with, or :class:`ContextError` with the fix (see the module docstring)."""
    at = f" ({where})" if where else ""
    if longest_prompt > max_prompt_tokens:
        raise ContextError(f"the longest prompt{at} has {longest_prompt} tokens, more than --max-prompt-tokens "
                           f"{max_prompt_tokens}; pass --max-prompt-tokens {longest_prompt} or more")
    if context is None or max_prompt_tokens + max_tokens <= context:
        return Budget(max_prompt_tokens, max_tokens, context, longest_prompt)
    if longest_prompt + max_tokens > context:
        room = context - longest_prompt
        fix = f"pass --max-tokens {room} or less" if room > 0 else "use a model with a longer context"
        raise ContextError(f"the longest prompt{at} ({longest_prompt} tokens) + --max-tokens {max_tokens} exceed the "
                           f"model's context of {context} tokens (max_position_embeddings); {fix}")
    lowered = context - max_tokens
    note = (f"--max-prompt-tokens {max_prompt_tokens} + --max-tokens {max_tokens} exceed the model's context of "
            f"{context} tokens; using --max-prompt-tokens {lowered} (the longest prompt has {longest_prompt})")
    return Budget(lowered, max_tokens, context, longest_prompt, note)


def check_budgets(model: str, lengths: Mapping[str, Sequence[int]], max_prompt_tokens: int, max_tokens: int) -> Budget:
    """Read the model's context (its config only, no weights) and :func:`plan_budget` for the longest of the
    rendered prompt ``lengths`` of every benchmark."""
    from deepscaler_grpo.models import load_model_config

    context = model_context(load_model_config(model).to_dict())
    longest, where = 0, ""
    for name, values in lengths.items():
        if values and max(values) > longest:
            longest, where = max(values), f"{name} #{list(values).index(max(values))}"
    return plan_budget(context, longest, max_prompt_tokens, max_tokens, where)
