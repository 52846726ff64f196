"""Typed training configuration in verl's key layout, merged with OmegaConf, validated before any model loads.

The tree mirrors verl's ``ppo_trainer.yaml`` (``data``, ``actor_rollout_ref.{model,actor,rollout,ref}``,
``algorithm``, ``trainer``, ``custom_reward_function``) plus ``reward`` / ``reward_model`` sections for the
rewards and the verifier's policy. Defaults are the seed recipe: Qwen3-4B-Instruct-2507 + LoRA r=64, 64 prompts x 5
responses per step, two optimizer steps of 32 prompts each, low-variance KL loss with coefficient 0.001.

Modules: ``schema`` (the dataclasses and their ``__post_init__`` checks), ``checks`` (across sections), ``stages`` (the
length schedule's stages, planned from the config alone), ``loading`` (environment, YAML and ``key=value`` layers,
key checks with the nearest valid names and the unsupported verl keys, typed updates with :func:`with_values`,
YAML output), ``errors``. This package imports nothing else of the project's but ``deepscaler_grpo.errors``, and no
torch, transformers or TRL: a config is built and checked in milliseconds.

    deepscaler-grpo train --print-config data.train_batch_size=8 actor_rollout_ref.rollout.n=4
    python -c "from deepscaler_grpo.config import load_config; print(load_config(['trainer.save_freq=5']))"
"""

from __future__ import annotations

from deepscaler_grpo.config.errors import ConfigError
from deepscaler_grpo.config.loading import (
    UNSUPPORTED_VERL_KEYS,
    check_keys,
    config_to_yaml,
    load_config,
    valid_keys,
    with_values,
)
from deepscaler_grpo.config.schema import Config

__all__ = ["UNSUPPORTED_VERL_KEYS", "Config", "ConfigError", "check_keys", "config_to_yaml", "load_config",
           "valid_keys", "with_values"]
