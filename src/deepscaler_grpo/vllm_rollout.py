"""Colocated vLLM rollouts for LoRA policies: base weights loaded once, only the adapter synced each step.

TRL 1.16's colocate mode merges the LoRA adapter into the base model and pushes *all* weights into vLLM with
``load_weights`` before every rollout (8 GB for the 4B recipe; on vLLM's CPU backend it fails outright with
``'Parameter' object has no attribute 'weight_loader'``). Here the engine starts with ``enable_lora=True`` and
each sync writes the current PEFT adapter (megabytes) to a fresh folder and generates with a new
``LoRARequest`` (TRL issue #5975; what verl and Unsloth do).

* :class:`AdapterVLLMGeneration` is TRL's ``VLLMGeneration`` with that sync (colocate mode, one engine per
  training process, sleep mode level 1 when enabled so the base weights survive a sleep).
* :func:`adapter_rollouts` makes ``GRPOTrainer.__init__`` build it instead of TRL's class.
* :func:`probs_diff_stats` / :func:`reduce_probs_diff` give verl's ``training/rollout_probs_diff_{mean,max,std}``:
  the gap between the rollout engine's and the trainer's probabilities of the sampled tokens.
* :func:`check_vllm_model` fails early, naming the supported sizes, when vLLM's CPU backend cannot run the model.

Nothing here imports vLLM or TRL at module import time.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepscaler_grpo.errors import UserError

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
    try:
        from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

        return tuple(CPUAttentionBackend.get_supported_head_sizes())
    except (ImportError, AttributeError):  # vLLM absent or moved the class: the 0.31 list
        return CPU_HEAD_SIZES


def model_head_size(model_path: str) -> int | None:
    """``head_dim`` of a model (``hidden_size / num_attention_heads`` when not set); None if unreadable."""
    from deepscaler_grpo.hf import ModelLoadError, load_model_config

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
            "or pick a model with a supported head size (tests: python -m deepscaler_grpo.tiny DIR --head-dim 32)."
        )


def request_seed(seed: int | None) -> int | None:
    """The per-request sampling seed to give vLLM: None on CPU, where vLLM 0.31 crashes on seeded requests whose
    prefill is split over steps ("CPU Generator does not use offset"); the engine's own seed still applies."""
    return None if seed is None or vllm_device() == "cpu" else seed


def vllm_lora_rank(rank: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that holds an adapter of rank ``rank``."""
    for allowed in VLLM_LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise VLLMSetupError(f"LoRA rank {rank} is above vLLM's maximum {VLLM_LORA_RANKS[-1]}; lower lora_rank")


# ------------------------------------------------------------------------------------------ adapter folders


@dataclass
class SyncStats:
    """One adapter sync: its version (= LoRA id), seconds spent and bytes written."""

    version: int = 0
    seconds: float = 0.0
    bytes: int = 0


class AdapterStore:
    """Writes successive versions of a PEFT adapter to ``root/v{N}`` and hands out the matching LoRARequest.

    Only the newest folder is kept (the engine reads it lazily at the next request). Default root: a fresh
    temp folder, in /dev/shm when there is one (no disk I/O), removed at exit (or by the next run after a kill).
    """

    def __init__(self, root: str | Path | None = None, name: str = "policy"):
        self.root = Path(root) if root is not None else _temp_root()
        self.root.mkdir(parents=True, exist_ok=True)
        if root is None:
            atexit.register(self.close)
        self.name = name
        self.stats = SyncStats()

    def push(self, peft_model: Any) -> Any:
        """Save the active adapter of ``peft_model`` as a new version; returns its ``LoRARequest``."""
        from vllm.lora.request import LoRARequest

        start = time.perf_counter()
        version = self.stats.version + 1
        path = self.root / f"v{version}"
        written = save_adapter(peft_model, path)
        shutil.rmtree(self.root / f"v{version - 1}", ignore_errors=True)
        self.stats = SyncStats(version, time.perf_counter() - start, written)
        return LoRARequest(f"{self.name}-v{version}", version, str(path))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


TEMP_PREFIX = "deepscaler-lora-"


def _temp_root() -> Path:
    """A fresh folder named after this process, in /dev/shm when there is one; folders left by killed
    processes (their pid is gone) are removed first."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() else Path(tempfile.gettempdir())
    for old in base.glob(f"{TEMP_PREFIX}*-*"):
        pid = old.name[len(TEMP_PREFIX) :].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=base))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def save_adapter(peft_model: Any, path: Path) -> int:
    """Write ``adapter_config.json`` + ``adapter_model.safetensors`` (the trainable LoRA tensors); returns bytes."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    name = getattr(peft_model, "active_adapter", "default")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in get_peft_model_state_dict(peft_model, adapter_name=name).items()}
    path.mkdir(parents=True, exist_ok=True)
    peft_model.peft_config[name].save_pretrained(str(path))
    save_file(tensors, str(path / "adapter_model.safetensors"))
    return sum(t.numel() * t.element_size() for t in tensors.values())


def full_weight_bytes(model: Any) -> int:
    """Bytes a merged full-weight push moves: every base (non-LoRA) parameter, tied ones once."""
    seen: set[int] = set()
    total = 0
    for name, param in model.named_parameters():
        if "lora_" in name or param.data_ptr() in seen:
            continue
        seen.add(param.data_ptr())
        total += param.numel() * param.element_size()
    return total


# ---------------------------------------------------------------------------------------- the TRL backend


class _AdapterLLM:
    """The vLLM ``LLM`` seen through the current adapter: ``generate`` adds the ``lora_request``; ``sleep``
    keeps the base weights (level 1: offload) since only the adapter is pushed back. Everything else delegates."""

    def __init__(self, llm: Any, owner: AdapterVLLMGenerationMixin):
        self._llm = llm
        self._owner = owner

    def generate(self, prompts: Any, sampling_params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("lora_request", self._owner.lora_request)
        return self._llm.generate(prompts, sampling_params=sampling_params, **kwargs)

    def sleep(self, level: int = 1, **kwargs: Any) -> Any:
        return self._llm.sleep(level=1, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)


def _vllm_generation_class() -> type:
    from trl.generation.vllm_generation import VLLMGeneration

    return VLLMGeneration


def _make_adapter_generation_class() -> type:
    """Built lazily so importing this module does not import TRL."""
    base = _vllm_generation_class()

    class _AdapterVLLMGeneration(AdapterVLLMGenerationMixin, base):  # type: ignore[misc, valid-type]
        pass

    _AdapterVLLMGeneration.__name__ = _AdapterVLLMGeneration.__qualname__ = "AdapterVLLMGeneration"
    return _AdapterVLLMGeneration


class AdapterVLLMGenerationMixin:
    """Mixed over TRL's ``VLLMGeneration``: a LoRA-enabled colocated engine fed adapters, not merged weights."""

    def __init__(self, *args: Any, lora_rank: int, adapter_root: str | Path | None = None, **kwargs: Any):
        self.lora_rank = lora_rank
        self.adapters = AdapterStore(adapter_root)
        self.lora_request: Any = None
        super().__init__(*args, **kwargs)

    # -- engine
    def _init_vllm(self) -> None:
        from trl.trainer.utils import ensure_master_addr_port
        from vllm import LLM

        if self.mode != "colocate" or self.tensor_parallel_size != 1:
            raise VLLMSetupError("adapter-only sync runs one colocated vLLM engine per process (vllm_mode=colocate, TP 1)")
        accelerator = self.accelerator
        os.environ["RANK"] = str(accelerator.process_index)
        os.environ["LOCAL_RANK"] = str(accelerator.local_process_index)
        os.environ["WORLD_SIZE"] = str(accelerator.num_processes)
        ensure_master_addr_port()
        llm = LLM(**self._engine_kwargs())
        self.llm = _AdapterLLM(llm, self)
        if self.enable_sleep_mode:
            self.llm.sleep(level=1)
        self._llm_weights_sleeping = self.enable_sleep_mode
        accelerator.wait_for_everyone()

    def _engine_kwargs(self) -> dict[str, Any]:
        """TRL's colocate engine settings plus LoRA (one adapter slot of the policy's rank) and the policy's dtype."""
        return {
            "model": self.model.name_or_path,
            "dtype": str(self.model.dtype).removeprefix("torch."),  # the trainer's (vLLM's "auto" may pick bf16 on CPU)
            "tensor_parallel_size": 1,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "max_model_len": self.max_model_length,
            "max_num_seqs": self.max_num_seqs,
            "enable_sleep_mode": self.enable_sleep_mode,
            "model_impl": self.model_impl,
            "distributed_executor_backend": "external_launcher",
            "seed": self.accelerator.process_index,
            "max_num_batched_tokens": 4096,
            "logprobs_mode": "processed_logprobs",
            "trust_remote_code": self.trust_remote_code,
            "enable_lora": True,
            "max_lora_rank": vllm_lora_rank(self.lora_rank),
            "max_loras": 1,
            "max_cpu_loras": 1,
        }

    # -- sync
    def sync_weights(self) -> None:
        """Push the current adapter (a new LoRA id); the base weights in the engine never change."""
        self._wake_weights()
        old, self.lora_request = self.lora_request, self.adapters.push(self.model)
        if old is not None:
            self.llm.llm_engine.remove_lora(old.lora_int_id)
        self.llm.reset_prefix_cache()

    def _wake_weights(self) -> None:
        if self.enable_sleep_mode and self._llm_weights_sleeping:
            self.llm.wake_up(tags=["weights"])
            self._llm_weights_sleeping = False

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        self._wake_weights()  # level-1 sleep kept the weights: wake them instead of TRL's full re-push
        return super().generate(*args, **kwargs)

    def generate_texts(self, token_ids: list[list[int]], sampling_params: Any) -> list[list[str]]:
        """Responses (text) for prompts given as token ids, with the current adapter (validation, evaluation)."""
        self._wake_weights()
        if self.enable_sleep_mode:
            self.llm.wake_up(tags=["kv_cache"])
        try:
            outputs = self.llm.generate([{"prompt_token_ids": ids} for ids in token_ids], sampling_params, use_tqdm=False)
        finally:
            if self.enable_sleep_mode:
                self.llm.sleep(level=1)
                self._llm_weights_sleeping = True
        return [[c.text for c in out.outputs] for out in outputs]

    @property
    def sync_stats(self) -> SyncStats:
        return self.adapters.stats


@functools.cache
def adapter_generation_class() -> type:
    """TRL's ``VLLMGeneration`` with adapter-only sync (the class is built on first use)."""
    return _make_adapter_generation_class()


@contextlib.contextmanager
def adapter_rollouts(lora_rank: int, adapter_root: str | Path | None = None) -> Iterator[None]:
    """While active, ``GRPOTrainer.__init__`` builds :class:`AdapterVLLMGeneration` instead of TRL's class."""
    import trl.trainer.grpo_trainer as grpo

    original = grpo.VLLMGeneration
    grpo.VLLMGeneration = functools.partial(adapter_generation_class(), lora_rank=lora_rank, adapter_root=adapter_root)
    try:
        yield
    finally:
        grpo.VLLMGeneration = original


# ------------------------------------------------------------------------------------------ mismatch metric


def probs_diff_stats(rollout_logps: Any, trainer_logps: Any, mask: Any) -> Any:
    """``[count, sum, sum of squares, max]`` of |p_rollout - p_trainer| over the sampled (masked) tokens.

    Tokens whose rollout log-prob is NaN (vLLM could not score them) are left out. Sums from several
    processes add up; :func:`reduce_probs_diff` turns them into verl's mean / max / std.
    """
    import torch

    diff = (torch.exp(rollout_logps.float()) - torch.exp(trainer_logps.float())).abs()
    keep = mask.bool() & ~torch.isnan(diff)
    values = diff[keep].double()
    if values.numel() == 0:
        return torch.zeros(4, dtype=torch.float64, device=diff.device)
    return torch.stack([values.new_tensor(values.numel()), values.sum(), (values**2).sum(), values.max()])


def reduce_probs_diff(stats: Any) -> dict[str, float]:
    """Stats from :func:`probs_diff_stats` (one row per process, or one row) -> verl's metric names."""
    rows = stats.reshape(-1, 4).double()
    count, total, squares = (float(rows[:, i].sum()) for i in range(3))
    if count == 0:
        return {}
    mean = total / count
    var = max(squares - count * mean * mean, 0.0) / (count - 1) if count > 1 else 0.0  # torch.std: unbiased
    return {
        "training/rollout_probs_diff_mean": mean,
        "training/rollout_probs_diff_max": float(rows[:, 3].max()),
        "training/rollout_probs_diff_std": math.sqrt(var),
    }


def mismatch_message(mean: float, threshold: float, step: int) -> str:
    return (
        f"step {step}: training/rollout_probs_diff_mean={mean:.3g} exceeds "
        f"actor_rollout_ref.rollout.probs_diff_warn_threshold={threshold:g}: the rollout engine is not sampling "
        "from the policy being trained (a stale or missing adapter sync, or a precision mismatch). Check the sync, "
        "or raise the threshold if this gap is expected (e.g. bf16 rollouts)."
    )


class RolloutMismatchWarning(UserWarning):
    """The rollout engine's token probabilities drifted from the trainer's (see ``mismatch_message``)."""


# ---------------------------------------------------------------------------------------------- the trainer


class VLLMRolloutTrainerMixin:
    """Mixed over ``trl.GRPOTrainer``: adapter-only vLLM rollouts for LoRA policies, verl's rollout/trainer
    probability gap per step (with a warning past ``probs_diff_warn_threshold``), and generation with the
    rollout engine for validation (:meth:`rollout_texts`)."""

    def __init__(self, *args: Any, probs_diff_warn_threshold: float | None = None, **kwargs: Any):
        self.probs_diff_warn_threshold = probs_diff_warn_threshold
        grpo_args, peft_config = kwargs.get("args"), kwargs.get("peft_config")
        adapter_only = bool(getattr(grpo_args, "use_vllm", False)) and peft_config is not None
        with adapter_rollouts(peft_config.r) if adapter_only else contextlib.nullcontext():
            super().__init__(*args, **kwargs)

    def _generate_and_score_completions(self, inputs: Any) -> Any:
        output = super()._generate_and_score_completions(inputs)  # type: ignore[misc]
        if self.use_vllm and self.model.training and output.get("sampling_per_token_logps") is not None:
            self._record_rollout_mismatch(output)
        return output

    def _record_rollout_mismatch(self, output: dict[str, Any]) -> None:
        """Log training/rollout_probs_diff_{mean,max,std} and the sync cost; warn past the threshold."""
        trainer_logps = output.get("old_per_token_logps")
        if trainer_logps is None:  # TRL skips it when rollouts and updates are aligned and IS correction is off
            trainer_logps = self._trainer_logps(output)
        stats = probs_diff_stats(output["sampling_per_token_logps"], trainer_logps, output["completion_mask"])
        metrics = reduce_probs_diff(self.accelerator.gather(stats[None].to(self.accelerator.device)).cpu())
        sync = getattr(self.vllm_generation, "sync_stats", None)
        if sync is not None and sync.version:
            metrics.update({"timing_s/weight_sync": sync.seconds, "perf/weight_sync_mb": sync.bytes / 2**20})
        for key, value in metrics.items():
            self._metrics["train"][key].append(value)
        self._warn_if_mismatched(metrics.get("training/rollout_probs_diff_mean"))

    def _warn_if_mismatched(self, mean: float | None) -> None:
        threshold = self.probs_diff_warn_threshold
        if mean is None or threshold is None or mean <= threshold or not self.accelerator.is_main_process:
            return
        import warnings

        step = self.state.global_step // getattr(self, "optimizer_steps_per_step", 1) + 1
        warnings.warn(mismatch_message(mean, threshold, step), RolloutMismatchWarning, stacklevel=2)

    def _trainer_logps(self, output: dict[str, Any]) -> Any:
        """The policy's log-probs of the sampled tokens (TRL's own forward, no gradients)."""
        import torch
        from trl.models.utils import disable_gradient_checkpointing

        ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
        mask = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
        with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
            logps, _, _ = self._get_per_token_logps_and_entropies(  # type: ignore[attr-defined]
                self.model, ids, mask, output["completion_ids"].size(1), batch_size=self.args.per_device_train_batch_size
            )
        return logps

    def close_rollout_engine(self) -> None:
        """Shut the colocated engine down at the end of a run, all ranks together, instead of in vLLM's exit-time
        finalizer: its teardown destroys the default process group, which fails once the run has left it."""
        llm = getattr(getattr(self, "vllm_generation", None), "llm", None)
        if llm is None:
            return
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()
        llm.llm_engine.engine_core.shutdown()  # once: it detaches vLLM's finalizer

    def rollout_texts(self, token_ids: list[list[int]], sampling: dict[str, Any]) -> list[list[str]]:
        """Responses from the rollout engine with the *current* policy (the adapter is synced first if stale)."""
        from vllm import SamplingParams

        if self.state.global_step != self._last_loaded_step:
            self.vllm_generation.sync_weights()
            self._last_loaded_step = self.state.global_step
        params = SamplingParams(**{**sampling, "seed": request_seed(sampling.get("seed"))})
        return self.vllm_generation.generate_texts(token_ids, params)
