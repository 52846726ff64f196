"""vLLM as a generation backend, and the one place a vLLM engine's settings are made.

* Platform checks: :func:`vllm_installed`, :func:`vllm_device`, :func:`check_vllm_model` (vLLM's CPU build has
  attention kernels for some head sizes only), :func:`vllm_lora_rank`, :func:`request_seed`, :func:`before_engine_start`.
* :func:`engine_settings`: the keyword arguments of ``vllm.LLM`` for evaluation and for training's colocated
  rollout engine (``deepscaler_grpo.training.vllm_sync``), so the two cannot drift apart.
* :class:`VLLMBackend` / :func:`generate_vllm`: ``n`` responses per chat prompt, rendered and tokenized exactly
  as the HF backend does and stopping at the same ids (greedy responses agree token for token).

    from deepscaler_grpo.generation.vllm import load_vllm, VLLMBackend
    llm, lora = load_vllm("Qwen/Qwen3-4B-Instruct-2507", "runs/x/global_step_50/adapter", 4096, seed=0)
    VLLMBackend(llm, lora).generate(prompts, Sampling(n=16, temperature=0.6, max_tokens=2048))

Nothing here imports vLLM at module import time.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.generation.base import Messages, Sampling, prompt_token_ids, stop_token_ids

# vLLM's CPU attention kernels (vllm/v1/attention/backends/cpu_attn.py in 0.31), used when vLLM is absent.
CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)
# vLLM's accepted values of max_lora_rank (vllm.config.lora.MaxLoRARanks).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class VLLMSetupError(UserError):
    """vLLM cannot run this model or configuration here; the message says what to change."""


# ------------------------------------------------------------------------------------------------ platform


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def vllm_device() -> str:
    """The device vLLM's platform plugin picked (``cuda``, ``cpu``, ...)."""
    from vllm.platforms import current_platform

    return str(current_platform.device_type)


def cpu_head_sizes() -> tuple[int, ...]:
    """Head sizes vLLM's CPU attention supports (asked from vLLM when it is importable)."""
    from deepscaler_grpo.compat import vllm_cpu_head_sizes

    return vllm_cpu_head_sizes() or CPU_HEAD_SIZES


def model_head_size(model_path: str) -> int | None:
    """``head_dim`` of a model (``hidden_size / num_attention_heads`` when not set); None if unreadable."""
    from deepscaler_grpo.models import ModelLoadError, load_model_config

    try:
        config = load_model_config(model_path).to_dict()
    except ModelLoadError:  # unreadable here: vLLM will report its own error
        return None
    config = config.get("text_config", config)
    head = config.get("head_dim")
    if head is None and config.get("hidden_size") and config.get("num_attention_heads"):
        head = config["hidden_size"] // config["num_attention_heads"]
    return int(head) if head else None


def check_vllm_model(model_path: str, device: str | None = None) -> None:
    """Raise :class:`VLLMSetupError` when vLLM runs on CPU and the model's head size has no CPU kernel."""
    device = device or vllm_device()
    if device != "cpu":
        return
    head, sizes = model_head_size(model_path), cpu_head_sizes()
    if head is not None and head not in sizes:
        raise VLLMSetupError(
            f"vLLM's CPU backend supports attention head sizes {list(sizes)}, but {model_path} has head_dim={head}. "
            "Use HF generation instead (actor_rollout_ref.rollout.name=hf, or eval --backend hf), run on a GPU, "
            "or pick a model with a supported head size (tests: python -m deepscaler_grpo.demo.tiny DIR --head-dim 32)."
        )


def request_seed(seed: int | None) -> int | None:
    """The per-request sampling seed to give vLLM: None on CPU, where vLLM 0.31 crashes on seeded requests whose
    prefill is split over steps ("CPU Generator does not use offset"); the engine's own seed still applies."""
    return None if seed is None or vllm_device() == "cpu" else seed


def before_engine_start(lora: bool) -> None:
    """What every engine start needs first (eval's and training's): vLLM's log cut to warnings
    (:func:`quiet_vllm_logging`) and, for a LoRA-enabled engine on vLLM's CPU platform, the single-adapter fast path
    of ``compat.single_adapter_cpu_lora_ops`` (vLLM's own CPU LoRA ops copy the adapter once per token)."""
    quiet_vllm_logging()
    if lora and vllm_device() == "cpu":
        from deepscaler_grpo.compat import single_adapter_cpu_lora_ops

        single_adapter_cpu_lora_ops()


def vllm_lora_rank(rank: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that holds an adapter of rank ``rank``."""
    for allowed in VLLM_LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise VLLMSetupError(f"LoRA rank {rank} is above vLLM's maximum {VLLM_LORA_RANKS[-1]}; lower lora_rank")


def torch_dtype_name(dtype: str, device: str) -> str:
    """``auto`` / ``float32`` / ... -> the name vLLM takes, resolved as for HF (``auto``: bf16 on GPU, fp32 on CPU),
    so both backends compute in the same precision."""
    from deepscaler_grpo.models import resolve_dtype

    return str(resolve_dtype(dtype, device)).removeprefix("torch.")


# ------------------------------------------------------------------------------------------------- engines


def engine_settings(
    model: str,
    *,
    dtype: str,
    max_model_len: int,
    seed: int,
    lora_rank: int | None = None,
    colocated: bool = False,
    gpu_memory_utilization: float | None = None,
    max_num_seqs: int | None = None,
    enable_sleep_mode: bool = False,
    model_impl: str | None = None,
    quantization: str | None = None,
    trust_remote_code: bool = False,
) -> dict[str, Any]:
    """``vllm.LLM`` keyword arguments: the one list for evaluation and training's rollout engine.

    ``lora_rank``: LoRA on, one adapter slot of that rank (vLLM rounds up to an allowed rank). ``colocated``: the
    engine shares a training process (TRL's colocate settings: the launcher's process group, at most 4096 batched
    tokens so vLLM's memory profiler is not misled, log-probs after temperature scaling for the mismatch metric).
    Unset optional values keep vLLM's defaults.
    """
    settings: dict[str, Any] = {
        "model": model,
        "dtype": dtype,
        "max_model_len": max_model_len,
        "seed": seed,
        "tensor_parallel_size": 1,
        "trust_remote_code": trust_remote_code,
        "enable_sleep_mode": enable_sleep_mode,
    }
    optional = {"gpu_memory_utilization": gpu_memory_utilization, "max_num_seqs": max_num_seqs,
                "model_impl": model_impl, "quantization": quantization}
    settings.update({key: value for key, value in optional.items() if value is not None})
    if lora_rank is not None:
        settings.update(enable_lora=True, max_lora_rank=vllm_lora_rank(max(lora_rank, 1)), max_loras=1, max_cpu_loras=1)
    if colocated:
        settings.update(distributed_executor_backend="external_launcher", max_num_batched_tokens=4096,
                        logprobs_mode="processed_logprobs")
    return settings


def adapter_rank(adapter: str | Path) -> int:
    """The LoRA rank ``r`` of a saved PEFT adapter."""
    return int(json.loads((Path(adapter) / "adapter_config.json").read_text())["r"])


def quiet_vllm_logging() -> None:
    """vLLM's INFO lines (dozens per engine start, from this process and its engine core) would bury our progress
    lines: WARNING and above only, unless the user set ``VLLM_LOGGING_LEVEL`` (``=INFO`` shows them again). Called
    before an engine starts: the engine core process reads the variable when it starts."""
    import logging

    if "VLLM_LOGGING_LEVEL" in os.environ:
        return
    os.environ["VLLM_LOGGING_LEVEL"] = "WARNING"
    logging.getLogger("vllm").setLevel(logging.WARNING)  # this process: vLLM's logger exists once vllm is imported


def load_vllm(
    model: str, adapter: str | None, max_model_len: int, seed: int | None, dtype: str = "auto"
) -> tuple[Any, Any]:
    """A vLLM engine (LoRA enabled when ``adapter``) and the matching ``LoRARequest`` (or None)."""
    from vllm import LLM
    from vllm.lora.request import LoRARequest

    settings = engine_settings(model, dtype=torch_dtype_name(dtype, vllm_device()), max_model_len=max_model_len,
                               seed=seed or 0, lora_rank=adapter_rank(adapter) if adapter else None)
    before_engine_start(lora=bool(adapter))
    llm = LLM(**settings)
    return llm, LoRARequest("adapter", 1, str(adapter)) if adapter else None


# ------------------------------------------------------------------------------------------------- backend


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


def sampling_params(tokenizer: Any, n: int, temperature: float, top_p: float, max_tokens: int,
                    seed: int | None) -> Any:
    """``vllm.SamplingParams`` matching the HF backend's settings (top-p ignored when greedy)."""
    from vllm import SamplingParams

    return SamplingParams(n=n, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                          max_tokens=max_tokens, seed=request_seed(seed), stop_token_ids=stop_token_ids(tokenizer))


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
    """``n`` responses per chat prompt with a vLLM engine from :func:`load_vllm`."""
    tokenizer = llm.get_tokenizer()
    token_ids = prompt_token_ids(tokenizer, prompts)
    params = sampling_params(tokenizer, n, temperature, top_p, max_tokens, seed)
    outputs = llm.generate([{"prompt_token_ids": ids} for ids in token_ids], params, lora_request=lora_request,
                           use_tqdm=progress)
    return [[c.text for c in out.outputs] for out in outputs]


def choose_backend(backend: str, model: str | None = None) -> str:
    """``auto`` -> vllm when installed and able to run ``model`` here (GPUs; CPU with the vllm-cpu build and a
    supported head size), else hf; ``vllm`` errors clearly when it cannot run."""
    if backend == "hf":
        return "hf"
    if not vllm_installed():
        if backend == "vllm":
            raise VLLMSetupError(
                "--backend vllm needs vLLM: pip install -e '.[vllm]' (GPUs; README: CPU), or use --backend hf"
            )
        return "hf"
    try:
        if model is not None:
            check_vllm_model(model)
    except VLLMSetupError:  # a UserError: --backend vllm shows it, auto falls back to HF
        if backend == "vllm":
            raise
        return "hf"
    return "vllm"
