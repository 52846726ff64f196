"""deepscaler_grpo.training.mapping: verl keys -> trl.GRPOConfig (batch geometry, loss, optimizer), and the checks of
what TRL can do with a config."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepscaler_grpo.config import ConfigError, load_config
from deepscaler_grpo.training import mapping


@pytest.mark.parametrize(
    ("world", "grad_accum", "steps_per_gen"),
    [(1, 80, 160), (2, 40, 80), (8, 10, 20), (16, 5, 10)],
)
def test_recipe_maps_to_trl_batch_geometry(world: int, grad_accum: int, steps_per_gen: int) -> None:
    cfg = load_config([f"trainer.n_gpus_per_node={world}"])
    kw = mapping.grpo_kwargs(cfg, world)
    # 64 prompts x 5 = 320 responses per step = 2 optimizer steps of 32 x 5 = 160, micro 2 per GPU
    assert kw["per_device_train_batch_size"] == 2
    assert kw["gradient_accumulation_steps"] == grad_accum
    assert kw["steps_per_generation"] == steps_per_gen
    assert kw["per_device_train_batch_size"] * world * kw["gradient_accumulation_steps"] == 160
    assert kw["per_device_train_batch_size"] * world * kw["steps_per_generation"] == 320  # generation batch
    assert kw["num_generations"] == 5 and kw["num_iterations"] == 1
    assert mapping.optimizer_steps_per_step(cfg) == 2
    assert kw["max_steps"] == 50 * 2 and kw["logging_steps"] == 2 and kw["save_steps"] == 20 * 2


def test_recipe_maps_to_trl_loss_and_optimizer() -> None:
    kw = mapping.grpo_kwargs(load_config([]), 1)
    assert (kw["beta"], kw["use_bias_correction_kl"], kw["loss_type"]) == (0.001, False, "bnpo")
    assert (kw["epsilon"], kw["epsilon_high"], kw["scale_rewards"], kw["entropy_coef"]) == (0.2, 0.2, "group", 0.0)
    assert (kw["learning_rate"], kw["lr_scheduler_type"], kw["warmup_steps"], kw["max_grad_norm"]) == (2e-5, "constant", 0, 1.0)
    assert (kw["max_completion_length"], kw["vllm_max_model_length"]) == (2048, 3072)
    # a length-schedule stage of 2048 tokens in a run of 8192: its engine (kept by later stages) holds the longest
    staged = mapping.grpo_kwargs(load_config([]), 1, engine_response_length=8192)
    assert (staged["max_completion_length"], staged["vllm_max_model_length"]) == (2048, 1024 + 8192)
    assert kw["report_to"] == "none" and kw["bf16"] is False and kw["model_init_kwargs"]["dtype"] == "float32"
    gpu = mapping.grpo_kwargs(load_config(["actor_rollout_ref.actor.use_kl_loss=False", "trainer.logger=[console,tensorboard]"]), 1, cuda=True, use_vllm=True)
    assert (gpu["beta"], gpu["bf16"], gpu["model_init_kwargs"]["dtype"], gpu["use_vllm"], gpu["vllm_mode"]) == (0.0, True, "bfloat16", True, "colocate")
    assert gpu["report_to"] == ["tensorboard"] and gpu["vllm_gpu_memory_utilization"] == 0.6


def test_ppo_epochs_warmup_and_loss_modes() -> None:
    cfg = load_config([
        "actor_rollout_ref.actor.ppo_epochs=2", "actor_rollout_ref.actor.ppo_mini_batch_size=16",
        "actor_rollout_ref.actor.optim.lr_warmup_steps_ratio=0.1", "actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean",
        "trainer.total_training_steps=10", "trainer.save_freq=0", "algorithm.norm_adv_by_std_in_grpo=False",
    ])
    kw = mapping.grpo_kwargs(cfg, 1)
    assert mapping.optimizer_steps_per_step(cfg) == 8  # 2 epochs x 64/16 mini-batches
    assert (kw["num_iterations"], kw["max_steps"], kw["warmup_steps"], kw["save_steps"]) == (2, 80, 8, 80)
    assert (kw["loss_type"], kw["scale_rewards"]) == ("grpo", "none")


def test_to_grpo_config_is_accepted_by_trl(tmp_path: Path) -> None:
    cfg = load_config(["data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=2", "actor_rollout_ref.rollout.n=2",
                       f"trainer.default_local_dir={tmp_path}", "trainer.total_training_steps=3"])
    args = mapping.to_grpo_config(cfg, 1)
    assert (args.generation_batch_size, args.steps_per_generation, args.gradient_accumulation_steps) == (8, 4, 2)
    assert args.max_steps == 6 and args.num_generations == 2 and args.output_dir == str(tmp_path)


def test_checkpointing_argument_follows_transformers() -> None:
    old = mapping.checkpointing_kwargs(True, {"gradient_checkpointing"})  # transformers < 5.18 (vLLM 0.31's cap)
    new = mapping.checkpointing_kwargs(False, {"gradient_checkpointing", "activation_checkpointing"})
    assert old == {"gradient_checkpointing": True, "gradient_checkpointing_kwargs": {"use_reentrant": False}}
    assert new == {"activation_checkpointing": False, "activation_checkpointing_kwargs": {"use_reentrant": False}}
    sleep = load_config(["actor_rollout_ref.rollout.free_cache_engine=True"])
    assert mapping.grpo_kwargs(sleep, 1, use_vllm=True)["vllm_enable_sleep_mode"] is False  # CPU: no sleep mode
    assert mapping.grpo_kwargs(sleep, 1, cuda=True, use_vllm=True)["vllm_enable_sleep_mode"] is True




@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["actor_rollout_ref.actor.kl_loss_type=mse"], "TRL implements the k3 (low_var_kl) estimator only"),
        (["actor_rollout_ref.actor.clip_ratio_c=1.1"], "must be >= 1 + clip_ratio_high"),
        (["actor_rollout_ref.actor.entropy_coeff=0.01", "actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-mean"],
         "needs loss_agg_mode=token-mean"),
        (["algorithm.rollout_correction.rollout_is=token", "actor_rollout_ref.rollout.name=hf"],
         "set rollout_is=null or rollout.name=vllm"),
    ],
)
def test_trl_support_is_checked_next_to_the_mapping(overrides: list[str], message: str) -> None:
    cfg = load_config(overrides)  # the values alone are fine: the config package knows nothing of TRL
    with pytest.raises(ConfigError) as info:
        mapping.check_trl_support(cfg)
    assert message in str(info.value)
    mapping.check_trl_support(load_config([]))
