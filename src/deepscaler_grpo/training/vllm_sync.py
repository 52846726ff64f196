"""Adapter-only vLLM sync for LoRA policies: the engine's base weights are loaded once, only the adapter moves.

TRL 1.16's colocate mode merges the LoRA adapter into the base model and pushes *all* weights into vLLM with
``load_weights`` before every rollout (8 GB for the 4B recipe; on vLLM's CPU backend it fails outright with
``'Parameter' object has no attribute 'weight_loader'``). Here the engine starts with LoRA enabled and each sync
writes the current PEFT adapter (megabytes) to a fresh folder and generates with a new ``LoRARequest`` (TRL issue
#5975; what verl and Unsloth do).

* :class:`AdapterStore`: successive adapter versions in /dev/shm, one ``LoRARequest`` each.
* :class:`AdapterVLLMGenerationMixin`: mixed over TRL's ``VLLMGeneration`` (colocate mode, one engine per training
  process, the engine settings of :func:`deepscaler_grpo.generation.vllm.engine_settings`, sleep mode level 1 so
  the base weights survive a sleep).
* :class:`AdapterSyncMixin`: the trainer side. ``GRPOTrainer.__init__`` builds the adapter class instead of TRL's
  (``compat.grpo_vllm_generation_class``), and right after, :func:`check_adapter_sync` fails loudly if TRL built
  its backend another way: a silent fallback would push full merged weights every step.
* :class:`RolloutEngine`: one engine per training process for the whole run. A length schedule builds one trainer
  per stage; :meth:`AdapterSyncMixin.detach_rollout_engine` takes the engine (with its adapter versions) from a
  finished stage's trainer and the next stage's trainer adopts it instead of starting a second one (on a GPU a
  second engine would need the first one's memory back first, and minutes to start).

Nothing here imports vLLM or TRL at module import time.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepscaler_grpo import compat
from deepscaler_grpo.generation.vllm import VLLMSetupError, before_engine_start, engine_settings, request_seed

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


@dataclass
class RolloutEngine:
    """A colocated vLLM engine handed from one trainer to the next: the ``vllm.LLM``, the adapter versions written
    for it, the adapter it holds now and whether its weights sleep (GPU sleep mode)."""

    llm: Any
    adapters: AdapterStore
    lora_request: Any
    sleeping: bool = False


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


def _make_adapter_generation_class() -> type:
    """Built lazily so importing this module does not import TRL."""

    class _AdapterVLLMGeneration(AdapterVLLMGenerationMixin, compat.trl_vllm_generation_class()):  # type: ignore[misc]
        pass

    _AdapterVLLMGeneration.__name__ = _AdapterVLLMGeneration.__qualname__ = "AdapterVLLMGeneration"
    return _AdapterVLLMGeneration


def quantization_of(model: Any) -> str | None:
    """vLLM's ``quantization`` for a model TRL would start its engine with: bitsandbytes for 4-bit layers (as TRL
    does); 8-bit layers cannot be served in flight."""
    names = {type(module).__name__ for module in model.modules()}
    if "Linear8bitLt" in names:
        raise VLLMSetupError("vLLM does not support in-flight 8-bit (bitsandbytes) quantization; load the model in 4-bit or full precision")
    return "bitsandbytes" if "Linear4bit" in names else None


class AdapterVLLMGenerationMixin:
    """Mixed over TRL's ``VLLMGeneration``: a LoRA-enabled colocated engine fed adapters, not merged weights."""

    def __init__(self, *args: Any, lora_rank: int, adapter_root: str | Path | None = None,
                 engine: RolloutEngine | None = None, **kwargs: Any):
        self.lora_rank = lora_rank
        self.kept_engine = engine
        # a kept engine comes with its adapter versions: new LoRA ids continue them, the loaded one is replaced
        self.adapters = engine.adapters if engine is not None else AdapterStore(adapter_root)
        self.lora_request: Any = engine.lora_request if engine is not None else None
        super().__init__(*args, **kwargs)

    # -- engine
    def _init_vllm(self) -> None:
        from vllm import LLM

        if self.mode != "colocate" or self.tensor_parallel_size != 1:
            raise VLLMSetupError("adapter-only sync runs one colocated vLLM engine per process (vllm_mode=colocate, TP 1)")
        if self.kept_engine is not None:  # the previous length-schedule stage's engine: same base weights and sizes
            self.llm = _AdapterLLM(self.kept_engine.llm, self)
            self._llm_weights_sleeping = self.kept_engine.sleeping
            self.kept_engine = None
            return
        accelerator = self.accelerator
        os.environ["RANK"] = str(accelerator.process_index)
        os.environ["LOCAL_RANK"] = str(accelerator.local_process_index)
        os.environ["WORLD_SIZE"] = str(accelerator.num_processes)
        compat.ensure_rendezvous()
        before_engine_start(lora=True)
        llm = LLM(**self._engine_kwargs())
        self.llm = _AdapterLLM(llm, self)
        if self.enable_sleep_mode:
            self.llm.sleep(level=1)
        self._llm_weights_sleeping = self.enable_sleep_mode
        accelerator.wait_for_everyone()

    def _engine_kwargs(self) -> dict[str, Any]:
        """TRL's colocate settings (through the one settings function), LoRA of the policy's rank, its dtype."""
        return engine_settings(
            self.model.name_or_path,
            dtype=str(self.model.dtype).removeprefix("torch."),  # the trainer's (vLLM's "auto" may pick bf16 on CPU)
            max_model_len=self.max_model_length,
            seed=self.accelerator.process_index,
            lora_rank=self.lora_rank,
            colocated=True,
            gpu_memory_utilization=self.gpu_memory_utilization,
            max_num_seqs=self.max_num_seqs,
            enable_sleep_mode=self.enable_sleep_mode,
            model_impl=self.model_impl,
            quantization=quantization_of(self.model),
            trust_remote_code=self.trust_remote_code,
        )

    # -- sync
    def sync_weights(self) -> None:
        """Push the current adapter (a new LoRA id); the base weights in the engine never change. Timed as the
        trainer's ``weight_sync`` phase when the trainer handed its timer over."""
        timer = getattr(self, "phase_timer", None)
        with timer.phase("weight_sync") if timer is not None else contextlib.nullcontext():
            self._wake_weights()
            old, self.lora_request = self.lora_request, self.adapters.push(self.model)
            if old is not None:
                compat.remove_lora(self.llm, old.lora_int_id)
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

    def detach_engine(self) -> RolloutEngine:
        """Hand the engine over (to the next stage's trainer); this backend no longer holds it."""
        engine = RolloutEngine(self.llm._llm, self.adapters, self.lora_request, self._llm_weights_sleeping)
        self.llm = None
        return engine


@functools.cache
def adapter_generation_class() -> type:
    """TRL's ``VLLMGeneration`` with adapter-only sync (the class is built on first use)."""
    return _make_adapter_generation_class()


@contextlib.contextmanager
def adapter_rollouts(lora_rank: int, adapter_root: str | Path | None = None, engine: RolloutEngine | None = None) -> Any:
    """While active, ``GRPOTrainer.__init__`` builds :class:`AdapterVLLMGeneration` instead of TRL's class (on
    ``engine`` when one is kept from a previous trainer)."""
    factory = functools.partial(adapter_generation_class(), lora_rank=lora_rank, adapter_root=adapter_root,
                                engine=engine)
    with compat.grpo_vllm_generation_class(factory):
        yield


class AdapterSyncError(compat.CompatError):
    """The trainer did not build the adapter-only vLLM backend: it would push full merged weights every step."""


def check_adapter_sync(trainer: Any) -> None:
    """Fail loudly unless the trainer's vLLM backend is the adapter-only one (never a silent full-weight fallback)."""
    backend = compat.rollout_backend(trainer)
    if backend is not None and not isinstance(backend, AdapterVLLMGenerationMixin):
        raise AdapterSyncError(
            f"the trainer's vLLM backend is {type(backend).__module__}.{type(backend).__name__}, not the adapter-only "
            "AdapterVLLMGeneration: TRL builds its backend differently than this version of deepscaler-grpo expects "
            "(it would push the full merged weights before every rollout). Install the tested TRL (pip install -e .) "
            "or run with actor_rollout_ref.rollout.name=hf; tests/test_compat.py lists what moved"
        )


class AdapterSyncMixin:
    """Mixed over ``trl.GRPOTrainer``: the adapter-only vLLM backend (checked after the trainer is built; on the
    ``rollout_engine`` a previous trainer of this process left, when given), the engine shut down with the run or
    handed on (:meth:`detach_rollout_engine`), and generation with the current policy for validation
    (:meth:`rollout_texts`)."""

    def __init__(self, *args: Any, rollout_engine: RolloutEngine | None = None, **kwargs: Any):
        grpo_args, peft_config = kwargs.get("args"), kwargs.get("peft_config")
        adapter_only = bool(getattr(grpo_args, "use_vllm", False)) and peft_config is not None
        with adapter_rollouts(peft_config.r, engine=rollout_engine) if adapter_only else contextlib.nullcontext():
            super().__init__(*args, **kwargs)
        if adapter_only:
            check_adapter_sync(self)
            compat.rollout_backend(self).phase_timer = getattr(self, "phase_timer", None)

    def detach_rollout_engine(self) -> RolloutEngine | None:
        """The trainer's vLLM engine, taken from it for the next trainer of this process (None with HF rollouts)."""
        backend = compat.rollout_backend(self)
        return backend.detach_engine() if getattr(backend, "llm", None) is not None else None

    def close_rollout_engine(self) -> None:
        """Shut the colocated engine down at the end of a run, all ranks together, instead of in vLLM's exit-time
        finalizer: its teardown destroys the default process group, which fails once the run has left it."""
        llm = getattr(compat.rollout_backend(self), "llm", None)
        if llm is None:
            return
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()
        compat.shutdown_engine(llm)

    def rollout_texts(self, token_ids: list[list[int]], sampling: dict[str, Any]) -> list[list[str]]:
        """Responses from the rollout engine with the *current* policy (the adapter is synced first if stale)."""
        from vllm import SamplingParams

        backend = compat.rollout_backend(self)
        if compat.rollout_weights_stale(self):
            backend.sync_weights()
            compat.mark_rollout_weights_synced(self)
        params = SamplingParams(**{**sampling, "seed": request_seed(sampling.get("seed"))})
        return backend.generate_texts(token_ids, params)
