"""Loading the training configuration: defaults < ``--config file.yaml`` < dotted ``key=value`` overrides, merged
with OmegaConf into the typed dataclasses of :mod:`.schema`. Unknown keys fail with the nearest valid names, verl
keys that deepscaler-grpo does not implement fail with the reason (:data:`UNSUPPORTED_VERL_KEYS`), wrong types
fail with the expected type and an example.

    from deepscaler_grpo.config import load_config, with_values, config_to_yaml
    cfg = load_config(["data.train_batch_size=8"], "configs/cpu_smoke.yaml")
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException, ValidationError

from deepscaler_grpo.config.errors import ConfigError
from deepscaler_grpo.config.schema import Config, LengthStage

_NO_RS = "TRL's importance-sampling modes weight or drop tokens but keep them in the loss denominator; use rollout_is"

_NO_SHARDING = "training is data-parallel through accelerate (DDP); only the small LoRA adapter is trained, so no sharding is needed"
_MICRO = "TRL computes log-probs in chunks of actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu; set that instead"
_NO_DYNBSZ = "TRL uses fixed micro-batches of actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu responses"

# verl keys (or key prefixes) that exist in verl but are not implemented here, with the reason.
UNSUPPORTED_VERL_KEYS: dict[str, str] = {
    "critic": "GRPO has no critic: advantages are group-normalised rewards",
    "reward_model": (
        "rewards are rule-based (math verifier) or your own function: use reward.functions / reward.weights, or "
        "custom_reward_function.path / .name (reward_model.overlong_buffer.* is supported)"
    ),
    "algorithm.kl_ctrl": "the KL penalty is a loss term (actor_rollout_ref.actor.kl_loss_coef), not a reward controller",
    "algorithm.use_kl_in_reward": "the KL penalty is a loss term (actor_rollout_ref.actor.use_kl_loss)",
    "algorithm.gamma": "GRPO uses outcome rewards with no discounting",
    "algorithm.lam": "GRPO uses outcome rewards with no GAE",
    "actor_rollout_ref.hybrid_engine": "the rollout engine is always colocated with training (TRL vllm_mode=colocate)",
    "actor_rollout_ref.actor.strategy": _NO_SHARDING,
    "actor_rollout_ref.actor.fsdp_config": _NO_SHARDING,
    "actor_rollout_ref.ref.fsdp_config": _NO_SHARDING,
    "actor_rollout_ref.actor.ulysses_sequence_parallel_size": "TRL's GRPOTrainer has no sequence parallelism",
    "actor_rollout_ref.actor.ppo_micro_batch_size": "it is verl's deprecated global form; use ppo_micro_batch_size_per_gpu",
    "actor_rollout_ref.actor.use_dynamic_bsz": _NO_DYNBSZ,
    "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": _NO_DYNBSZ,
    "actor_rollout_ref.actor.optim.warmup_style": "it was renamed; use actor_rollout_ref.actor.optim.lr_scheduler_type",
    "actor_rollout_ref.model.use_remove_padding": "padding removal is a verl kernel; TRL pads each micro-batch",
    "actor_rollout_ref.model.enable_activation_offload": "TRL has no activation offload; use gradient checkpointing",
    "actor_rollout_ref.model.use_shm": "models are loaded with from_pretrained",
    "actor_rollout_ref.rollout.tensor_model_parallel_size": (
        "colocated vLLM runs one engine per training process; a 4B model fits on one GPU"
    ),
    "actor_rollout_ref.rollout.log_prob_micro_batch_size": _MICRO,
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": _MICRO,
    "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz": _NO_DYNBSZ,
    "actor_rollout_ref.ref.log_prob_micro_batch_size": _MICRO,
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": _MICRO,
    "actor_rollout_ref.ref.log_prob_use_dynamic_bsz": _NO_DYNBSZ,
    "actor_rollout_ref.rollout.mode": "generation is synchronous inside TRL's GRPOTrainer",
    "actor_rollout_ref.rollout.enforce_eager": "TRL builds the colocated vLLM engine itself",
    "actor_rollout_ref.rollout.max_num_batched_tokens": "TRL builds the colocated vLLM engine itself",
    "trainer.critic_warmup": "GRPO has no critic",
    "trainer.device": "the device comes from the launcher (CUDA when available, else CPU)",
    "algorithm.rollout_correction.rollout_rs": _NO_RS,
    "algorithm.rollout_correction.rollout_rs_threshold": _NO_RS,
    "algorithm.rollout_correction.rollout_rs_threshold_lower": _NO_RS,
    "algorithm.rollout_correction.rollout_token_veto_threshold": _NO_RS,
    "algorithm.rollout_correction.rollout_is_batch_normalize": "TRL does not renormalise the importance weights",
    "algorithm.rollout_correction.bypass_mode": "TRL always recomputes the old log-probs with the trainer (decoupled mode)",
    "algorithm.rollout_correction.use_policy_gradient": "the loss is always verl's clipped PPO objective",
}


# ---------------------------------------------------------------------------------------------------- loading


# Environment variables that set a default of the verifier's policy (recorded in config.yaml like any key).
ENV_DEFAULTS = {
    "DEEPSCALER_VERIFIER_DECIMAL_DIGITS": ("reward.decimal_digits", int),
    "DEEPSCALER_VERIFIER_TIMEOUT_S": ("reward.timeout_s", float),
    "DEEPSCALER_VERIFIER_WORKERS": ("reward.workers", int),
    "DEEPSCALER_VERIFIER_MAX_MEMORY": ("reward.max_memory_mb", lambda v: int(v) // 2**20),  # bytes, as the worker reads it
}


def load_config(
    argv_overrides: list[str] | tuple[str, ...] = (), config_file: str | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Defaults < ``DEEPSCALER_VERIFIER_*`` environment < YAML ``config_file`` < dotted ``key=value`` overrides -> a
    validated :class:`Config`. ``environ``: the environment to read (default ``os.environ``)."""
    layers = [env_layer(os.environ if environ is None else environ)]
    if config_file is not None:
        layers.append(_load_yaml(config_file))
    layers.append(_parse_overrides(argv_overrides))
    base = OmegaConf.structured(Config)
    OmegaConf.set_readonly(base, False)
    for layer in layers:
        check_keys(_leaf_keys(layer))
        _check_stage_items(layer)
        _normalise_logger(layer)
        base = _merge(base, layer)
    try:
        return OmegaConf.to_object(base)  # instantiates the dataclasses, running every __post_init__
    except OmegaConfBaseException as exc:
        raise _type_error(exc) from None


def env_layer(environ: Mapping[str, str]) -> DictConfig:
    """The reward policy defaults set by ``DEEPSCALER_VERIFIER_*`` variables (bad values fail naming the variable)."""
    layer = OmegaConf.create({})
    for name, (key, parse) in ENV_DEFAULTS.items():
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        try:
            OmegaConf.update(layer, key, parse(raw), merge=False)
        except ValueError:
            raise ConfigError(f"${name}={raw!r} is not a number; unset it or set {key} instead") from None
    return layer


def with_values(cfg: Config, values: Mapping[str, Any]) -> Config:
    """``cfg`` with dotted keys set to Python values (typed: no string parsing), validated like load_config.

    ``with_values(cfg, {"data.train_batch_size": 8, "trainer.default_local_dir": Path("runs/x")})``
    """
    check_keys(list(values))
    layer = OmegaConf.create({})
    for key, value in values.items():
        OmegaConf.update(layer, key, str(value) if isinstance(value, Path) else value, merge=False)
    base = OmegaConf.structured(cfg)
    OmegaConf.set_readonly(base, False)
    try:
        return OmegaConf.to_object(_merge(base, layer))
    except OmegaConfBaseException as exc:
        raise _type_error(exc) from None


def config_to_yaml(cfg: Config) -> str:
    """The resolved configuration as YAML (what ``--print-config`` prints and the run dir stores)."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg), resolve=True)


def valid_keys(schema: type = Config, prefix: str = "") -> list[str]:
    """Every dotted key the schema accepts (nodes and leaves)."""
    keys = []
    for f in dataclasses.fields(schema):
        key = f"{prefix}{f.name}"
        keys.append(key)
        sub = _dataclass_type(schema, f.name)
        if sub is not None:
            keys += valid_keys(sub, key + ".")
    return keys


def check_keys(keys: Iterable[str], unsupported: Mapping[str, str] = UNSUPPORTED_VERL_KEYS) -> None:
    """Fail on the first unsupported verl key or unknown key, naming the reason or the nearest valid keys."""
    valid = set(valid_keys())
    for key in keys:
        if key in valid:
            continue
        reason = next((why for prefix, why in unsupported.items() if key == prefix or key.startswith(prefix + ".")), None)
        if reason is not None:
            raise ConfigError(f"verl key {key} is not supported by deepscaler-grpo because {reason}")
        raise ConfigError(f"unknown config key {key!r}; {_suggest(key, sorted(valid))}")


def _suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
    last = key.rsplit(".", 1)[-1]
    by_leaf = {k.rsplit(".", 1)[-1]: k for k in valid}
    close += [by_leaf[m] for m in difflib.get_close_matches(last, list(by_leaf), n=3, cutoff=0.7) if by_leaf[m] not in close]
    if not close:
        return "run 'deepscaler-grpo train --print-config' to see every key"
    return "did you mean " + " or ".join(close[:3]) + "?"


def _load_yaml(path: str) -> DictConfig:
    if not Path(path).is_file():
        raise ConfigError(f"config file {path} not found; pass an existing YAML file to --config")
    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse config file {path}: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping like the output of --print-config")
    return OmegaConf.create(loaded)


def _parse_overrides(overrides: Iterable[str]) -> DictConfig:
    items = list(overrides)
    for item in items:
        key = item.split("=", 1)[0]
        if "=" not in item or not key or key.startswith("-"):
            raise ConfigError(f"bad override {item!r}: expected key=value, e.g. data.train_batch_size=64")
    try:
        return OmegaConf.from_dotlist([_spaced_flow_mappings(item) for item in items])
    except OmegaConfBaseException as exc:
        raise ConfigError(f"cannot parse overrides: {exc}") from None


_FLOW_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?=\S)")


def _spaced_flow_mappings(item: str) -> str:
    """``key=[{a:1,b:2}]`` -> ``key=[{a: 1,b: 2}]``: YAML reads ``{a:1}`` as the key 'a:1' without the space."""
    key, value = item.split("=", 1)
    if not value.lstrip().startswith(("{", "[{")):
        return item
    return key + "=" + _FLOW_KEY.sub(r"\1: ", value)


def _check_stage_items(layer: DictConfig) -> None:
    """trainer.length_schedule items: mappings of LengthStage's keys to whole numbers (or null)."""
    stages = OmegaConf.select(layer, "trainer.length_schedule")
    allowed = [f.name for f in dataclasses.fields(LengthStage)]
    example = "e.g. trainer.length_schedule=[{until_step:100,max_response_length:8192},{max_response_length:16384}]"
    if stages is not None and not isinstance(stages, ListConfig):
        raise ConfigError(f"trainer.length_schedule must be a list of stages, {example}")
    for i, stage in enumerate(stages or []):
        if not isinstance(stage, DictConfig):
            raise ConfigError(f"trainer.length_schedule[{i}] must be a mapping of {allowed}, {example}")
        for key in stage:
            value = stage[key]
            if key not in allowed:
                raise ConfigError(f"unknown key trainer.length_schedule[{i}].{key}; a stage takes {allowed}, {example}")
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"trainer.length_schedule[{i}].{key}={value!r} must be a whole number (or null), {example}")


def _leaf_keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, DictConfig):
        return [prefix.rstrip(".")] if prefix else []
    keys = []
    for name in node:
        keys += _leaf_keys(node[name], f"{prefix}{name}.")
    return keys


def _normalise_logger(layer: DictConfig) -> None:
    """Accept trainer.logger=console, 'console,wandb' or [console,tensorboard]."""
    value = OmegaConf.select(layer, "trainer.logger")
    if isinstance(value, str):
        layer.trainer.logger = [part.strip() for part in value.split(",") if part.strip()]


def _merge(base: DictConfig, layer: DictConfig) -> DictConfig:
    try:
        return OmegaConf.merge(base, layer)
    except OmegaConfBaseException as exc:
        raise _type_error(exc) from None


def _type_error(exc: OmegaConfBaseException) -> ConfigError:
    key = getattr(exc, "full_key", None)
    if not isinstance(exc, ValidationError) or not key:
        return ConfigError(f"invalid configuration: {exc}")
    expected, example = _field_info(key)
    reason = str(exc.msg).splitlines()[0]
    return ConfigError(f"bad value for {key}: {reason}; expected {expected}, e.g. {key}={example}")


def _field_info(key: str) -> tuple[str, str]:
    schema: type | None = Config
    parts = key.split(".")
    for part in parts[:-1]:
        schema = _dataclass_type(schema, part) if schema else None
    fields = {f.name: f for f in dataclasses.fields(schema)} if schema else {}
    f = fields.get(parts[-1])
    if f is None:
        return "a value of the documented type", "..."
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
    example = "[" + ",".join(map(str, default)) + "]" if isinstance(default, list) else str(default).replace("None", "null")
    return str(f.type), example


def _dataclass_type(schema: type, name: str) -> type | None:
    """The dataclass type of field ``name`` (None for leaves); default factories give it without eval'ing hints."""
    f = {f.name: f for f in dataclasses.fields(schema)}.get(name)
    if f is None or f.default_factory is dataclasses.MISSING:
        return None
    factory = f.default_factory
    return factory if isinstance(factory, type) and dataclasses.is_dataclass(factory) else None
