"""deepscaler_grpo.config: defaults = seed recipe, merge order, and every bad-config message."""

from __future__ import annotations

import pytest
import yaml

from deepscaler_grpo.config import Config, ConfigError, check_keys, config_to_yaml, load_config, valid_keys


def test_defaults_are_the_seed_recipe() -> None:
    cfg = load_config([])
    arr = cfg.actor_rollout_ref
    assert arr.model.path == "Qwen/Qwen3-4B-Instruct-2507"
    assert (arr.model.lora_rank, arr.model.lora_alpha, arr.model.target_modules) == (64, 32, "all-linear")
    assert arr.model.enable_gradient_checkpointing is True
    assert (cfg.data.train_batch_size, cfg.data.max_prompt_length, cfg.data.max_response_length) == (64, 1024, 2048)
    assert (arr.actor.optim.lr, arr.actor.ppo_mini_batch_size, arr.actor.ppo_micro_batch_size_per_gpu) == (2e-5, 32, 2)
    assert (arr.actor.use_kl_loss, arr.actor.kl_loss_coef, arr.actor.kl_loss_type) == (True, 0.001, "low_var_kl")
    assert arr.actor.entropy_coeff == 0
    assert (arr.rollout.name, arr.rollout.n, arr.rollout.gpu_memory_utilization) == ("vllm", 5, 0.6)
    t = cfg.trainer
    assert (t.total_training_steps, t.save_freq, t.test_freq, t.logger, t.resume_mode) == (50, 20, 5, ["console"], "auto")
    assert t.default_local_dir == "runs/qwen3-4b-instruct-grpo"  # interpolation resolved


def test_overrides_beat_yaml_beat_defaults(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  train_batch_size: 16\n  max_response_length: 512\ntrainer:\n  logger: console,tensorboard\n")
    cfg = load_config(["data.train_batch_size=32", "actor_rollout_ref.actor.optim.lr=1e-6"], str(path))
    assert cfg.data.train_batch_size == 32  # override wins over the file
    assert cfg.data.max_response_length == 512  # file wins over the default
    assert cfg.actor_rollout_ref.actor.optim.lr == pytest.approx(1e-6)
    assert cfg.trainer.logger == ["console", "tensorboard"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("console", ["console"]), ("console,wandb", ["console", "wandb"]), ("[console,tensorboard]", ["console", "tensorboard"])],
)
def test_logger_forms(value: str, expected: list[str]) -> None:
    assert load_config([f"trainer.logger={value}"]).trainer.logger == expected


def test_print_config_yaml_round_trips(tmp_path) -> None:
    cfg = load_config(["data.train_batch_size=8", "actor_rollout_ref.actor.ppo_mini_batch_size=4"])
    text = config_to_yaml(cfg)
    assert yaml.safe_load(text)["data"]["train_batch_size"] == 8
    path = tmp_path / "resolved.yaml"
    path.write_text(text)
    assert load_config([], str(path)) == cfg


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # unknown keys -> nearest valid names
        (["data.train_batch_sise=8"], "did you mean data.train_batch_size"),
        (["actor_rollout_ref.rollout.temprature=0.5"], "did you mean actor_rollout_ref.rollout.temperature"),
        (["lr=1e-6"], "did you mean actor_rollout_ref.actor.optim.lr"),
        (["trainer.frobnicate=1"], "unknown config key 'trainer.frobnicate'"),
        # verl keys we do not support -> the reason
        (["critic.optim.lr=1e-5"], "verl key critic.optim.lr is not supported by deepscaler-grpo because GRPO has no critic"),
        (["actor_rollout_ref.actor.fsdp_config.param_offload=True"], "not supported by deepscaler-grpo because training is data-parallel"),
        (["actor_rollout_ref.rollout.tensor_model_parallel_size=2"], "rollout.tensor_model_parallel_size is not supported"),
        (["actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4"], "set that instead"),
        (["actor_rollout_ref.model.use_remove_padding=True"], "padding removal is a verl kernel"),
        (["algorithm.kl_ctrl.kl_coef=0.001"], "not a reward controller"),
        (["reward_model.enable=False"], "rewards are rule-based"),
        (["algorithm.adv_estimator=gae"], "deepscaler-grpo implements GRPO only"),
        (["reward.weights=[1.0]"], "reward.weights has 1 values for 2 reward.functions"),
        (["reward.decimal_digits=-1"], "reward.decimal_digits must be >= 0"),
        (["reward.workers=0"], "reward.workers must be >= 1"),
        (["reward.functions=[]"], "reward.functions must list reward names"),
        # wrong types -> key, expected type, example
        (["data.train_batch_size=abc"], "bad value for data.train_batch_size"),
        (["data.train_batch_size=abc"], "expected int, e.g. data.train_batch_size=64"),
        (["trainer.val_before_train=maybe"], "expected bool, e.g. trainer.val_before_train=True"),
        (["actor_rollout_ref.actor.optim.lr=fast"], "expected float, e.g. actor_rollout_ref.actor.optim.lr=2e-05"),
        # impossible combinations
        (["actor_rollout_ref.rollout.n=1"], "GRPO needs at least 2 responses per prompt"),
        (["data.train_batch_size=48"], "data.train_batch_size=48 must be a multiple of actor_rollout_ref.actor.ppo_mini_batch_size=32"),
        (["actor_rollout_ref.actor.ppo_mini_batch_size=128"], "must be a multiple of"),
        (["trainer.n_gpus_per_node=3"], "32 x 5 = 160 responses per optimizer step must be a multiple of"),
        (["actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=3"], "= 3 x 1 = 3"),
        (["actor_rollout_ref.rollout.name=sglang"], "choose from ['vllm', 'hf']"),
        (["actor_rollout_ref.model.lora_rank=0"], "trains LoRA adapters only"),
        (["trainer.logger=[console,mlflow]"], "unknown logger(s) ['mlflow']"),
        (["trainer.resume_mode=resume_path"], "needs trainer.resume_from_path"),
        (["trainer.resume_mode=sometimes"], "choose from ['auto', 'disable', 'resume_path']"),
        (["trainer.total_training_steps=0"], "trainer.total_training_steps must be >= 1"),
        (["actor_rollout_ref.rollout.temperature=0"], "temperature must be > 0"),
        (["actor_rollout_ref.actor.optim.lr_scheduler_type=wsd"], "choose from ['constant', 'cosine', 'linear']"),
        (["data.val_max_samples=0"], "data.val_max_samples must be -1"),
        # malformed overrides
        (["data.train_batch_size"], "expected key=value"),
    ],
)
def test_bad_config_messages(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides)
    assert message in str(info.value)


def test_bad_yaml_file_messages(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config([], str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("critic:\n  ppo_epochs: 2\n")
    with pytest.raises(ConfigError, match="verl key critic.ppo_epochs is not supported"):
        load_config([], str(bad))
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config([], str(scalar))


def test_world_size_enters_the_divisibility_check() -> None:
    ok = load_config(["trainer.n_gpus_per_node=8"])  # 160 % (2 x 8) == 0
    assert ok.trainer.world_size == 8
    assert load_config(["trainer.n_gpus_per_node=0"]).trainer.world_size == 1  # CPU: one process
    with pytest.raises(ConfigError, match="2 x 6 = 12"):
        load_config(["trainer.n_gpus_per_node=3", "trainer.nnodes=2"])


def test_valid_keys_cover_the_tree() -> None:
    keys = set(valid_keys())
    assert {"data.train_batch_size", "actor_rollout_ref.actor.optim.lr", "actor_rollout_ref.rollout.val_kwargs.n"} <= keys
    check_keys(["trainer.seed", "reward.format_weight"])  # no error
    assert isinstance(load_config([]), Config)


def test_verifier_environment_variables_are_defaults_recorded_in_the_config() -> None:
    env = {"DEEPSCALER_VERIFIER_DECIMAL_DIGITS": "0", "DEEPSCALER_VERIFIER_WORKERS": "3",
           "DEEPSCALER_VERIFIER_MAX_MEMORY": str(2 * 2**30), "DEEPSCALER_VERIFIER_TIMEOUT_S": "2.5"}
    reward = load_config([], environ=env).reward
    assert (reward.decimal_digits, reward.workers, reward.max_memory_mb, reward.timeout_s) == (0, 3, 2048, 2.5)
    assert "decimal_digits: 0" in config_to_yaml(load_config([], environ=env))  # the run's config.yaml records it
    assert load_config(["reward.decimal_digits=4"], environ=env).reward.decimal_digits == 4  # keys win
    assert load_config([], environ={}).reward.decimal_digits == Config().reward.decimal_digits
    with pytest.raises(ConfigError, match=r"\$DEEPSCALER_VERIFIER_WORKERS='many' is not a number"):
        load_config([], environ={"DEEPSCALER_VERIFIER_WORKERS": "many"})
