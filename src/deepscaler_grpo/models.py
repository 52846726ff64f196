"""Loading Hugging Face models and tokenizers, and rendering chat prompts: one place for every stage.

    from deepscaler_grpo.models import load_model, load_tokenizer, render_prompts
    tokenizer = load_tokenizer("Qwen/Qwen3-4B-Instruct-2507")          # left padding, pad token set
    texts = render_prompts(tokenizer, [[{"role": "user", "content": "1+1?"}]])

A name that looks like a local path (starts with ``.``, ``/`` or ``~``, has more than one ``/``, or its first
folder exists here) must exist: a typo fails at once naming the folder, instead of a minute of Hub retries.
A Hub name fails fast when the Hub is unreachable and the model is not in the local cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.problems import hub_offline, hub_reachable

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Messages = list[dict[str, str]]


class ModelLoadError(UserError):
    """A model, adapter or tokenizer that cannot be loaded; the message says what to pass instead."""


def looks_local(name: str) -> bool:
    """True for names that are meant as local folders rather than Hub ids (``org/name``)."""
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        return True
    first = Path(name).parts[0] if Path(name).parts else ""
    return "/" in name and Path(first).exists()


def model_source(name: str, what: str = "model") -> tuple[str, bool]:
    """(name, local_files_only) for ``from_pretrained``; raises ModelLoadError for missing folders and
    Hub names that are neither reachable nor cached."""
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{what} path {name} is a file; pass the folder holding config.json")
        return str(path), True
    if looks_local(name):
        parent = next((p for p in path.parents if p.exists()), Path("."))
        raise ModelLoadError(
            f"{what} folder {name} does not exist (nearest existing folder: {parent}/); check the path"
        )
    if hub_offline() or _cached(name):
        return name, hub_offline() or not hub_reachable()
    if not hub_reachable():
        raise ModelLoadError(
            f"{what} {name!r} is a Hub name, but the Hugging Face Hub is unreachable and it is not in the local "
            "cache; pass a local folder, or download it once (HF_HUB_OFFLINE=1 then uses the cache)"
        )
    return name, False


def _cached(name: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(name, "config.json"), str)


def load_model_config(name: str, *, trust_remote_code: bool = False, what: str = "model") -> Any:
    """The model's ``AutoConfig`` (no weights), through the same path checks as the weights."""
    from transformers import AutoConfig

    source, local_only = model_source(name, what)
    try:
        return AutoConfig.from_pretrained(source, local_files_only=local_only, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the config of {name}: {_first_line(exc)}") from None


def load_tokenizer(
    name: str, *, padding_side: str | None = "left", trust_remote_code: bool = False
) -> PreTrainedTokenizerBase:
    """A tokenizer with a pad token (EOS when it has none) and left padding for generation (None: as saved)."""
    from transformers import AutoTokenizer

    source, local_only = model_source(name)
    side = {"padding_side": padding_side} if padding_side else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, trust_remote_code=trust_remote_code, local_files_only=local_only, **side
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load the tokenizer of {name}: {_first_line(exc)}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def resolve_dtype(name: str, device: str) -> Any:
    """``auto``: bfloat16 on GPU, float32 on CPU; otherwise the named torch dtype."""
    import torch

    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ModelLoadError(f"unknown dtype {name!r}: use auto, float32, bfloat16 or float16")
    return dtype


def check_adapter(adapter: str) -> None:
    if not (Path(adapter) / "adapter_config.json").is_file():
        raise ModelLoadError(
            f"adapter not found: {adapter} has no adapter_config.json "
            "(point --adapter at a checkpoint's adapter/ folder, e.g. RUN/global_step_100/adapter)"
        )


def silence_upstream_deprecations() -> None:
    """TRL 1.16 and PEFT still call transformers' gradient_checkpointing* names, deprecated in 5.x: one
    FutureWarning per call that the user can do nothing about."""
    import warnings

    warnings.filterwarnings("ignore", message=".*(deprecated.*checkpointing|checkpointing.*deprecated)",
                            category=FutureWarning)


def load_model(
    name: str, adapter: str | None = None, dtype: str = "auto", device: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model (+ optional PEFT adapter) in eval mode and its tokenizer; bf16 on GPU, fp32 on CPU by default."""
    import torch
    from transformers import AutoModelForCausalLM

    from deepscaler_grpo.console import quiet_library_bars

    quiet_library_bars()
    silence_upstream_deprecations()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if adapter is not None:
        check_adapter(adapter)
    source, local_only = model_source(name)
    tokenizer = load_tokenizer(name)
    try:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=resolve_dtype(dtype, device), local_files_only=local_only)
    except OSError as exc:
        raise ModelLoadError(
            f"could not load model {name!r}: {_first_line(exc)}. "
            "Give a local folder with config.json + weights, or a Hub name reachable from this machine."
        ) from None
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return model.to(device).eval(), tokenizer


def render_prompts(tokenizer: PreTrainedTokenizerBase, prompts: Iterable[Messages | str]) -> list[str]:
    """Chat-template each message list (with the assistant generation prompt); strings pass through.

    Tokenizers without a chat template (base models) get the message contents joined by blank lines.
    """
    if not getattr(tokenizer, "chat_template", None):
        return [p if isinstance(p, str) else "\n\n".join(m["content"] for m in p) + "\n\n" for p in prompts]
    return [
        p if isinstance(p, str) else tokenizer.apply_chat_template(list(p), tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]


def prompt_lengths(tokenizer: PreTrainedTokenizerBase, prompts: Iterable[Messages | str]) -> list[int]:
    """Token counts of the rendered prompts, as generation will see them."""
    texts = render_prompts(tokenizer, prompts)
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
