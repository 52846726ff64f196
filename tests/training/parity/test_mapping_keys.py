"""verl's loss keys in our config and what the mapping gives TRL: precedence, dual-clip, rollout correction,
which verl actor is reproduced, and the combinations refused because TRL cannot compute them as verl does."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepscaler_grpo.config import ConfigError, load_config
from deepscaler_grpo.training.mapping import check_trl_support, grpo_kwargs, to_grpo_config

A = "actor_rollout_ref.actor"
RC = "algorithm.rollout_correction"
SUM_NORM = f"{A}.loss_agg_mode=seq-mean-token-sum-norm"


def kw(*overrides: str) -> dict:
    return grpo_kwargs(load_config(list(overrides)), 1)


def test_defaults_are_verls() -> None:
    got = kw()
    assert (got["epsilon"], got["epsilon_high"], got["delta"]) == (0.2, 0.2, 3.0)
    assert (got["loss_type"], got["max_grad_norm"], got["adam_epsilon"]) == ("bnpo", 1.0, 1e-8)
    assert got["vllm_importance_sampling_correction"] is False  # verl applies no rollout correction by default


@pytest.mark.parametrize(
    ("overrides", "low", "high"),
    [
        ((f"{A}.clip_ratio_high=0.28",), 0.2, 0.28),
        ((f"{A}.clip_ratio=0.3", f"{A}.clip_ratio_low=null", f"{A}.clip_ratio_high=null"), 0.3, 0.3),
        ((f"{A}.clip_ratio=0.3", f"{A}.clip_ratio_low=null"), 0.3, 0.2),
        ((f"{A}.clip_ratio=0.3", f"{A}.clip_ratio_low=0.3", f"{A}.clip_ratio_high=0.3"), 0.3, 0.3),
    ],
)
def test_clip_bounds_follow_verls_precedence(overrides: tuple[str, ...], low: float, high: float) -> None:
    got = kw(*overrides)
    assert (got["epsilon"], got["epsilon_high"]) == (low, high)


def test_clip_ratio_that_verl_would_ignore_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"clip_ratio=0.3 has no effect.*clip_ratio_low=0.3"):
        load_config([f"{A}.clip_ratio=0.3"])


def test_dual_clip_maps_to_delta_and_must_sit_above_the_upper_bound() -> None:
    assert kw(f"{A}.clip_ratio_c=5")["delta"] == 5
    with pytest.raises(ConfigError, match=r"clip_ratio_c=1.1 must be >= 1 \+ clip_ratio_high"):
        check_trl_support(load_config([f"{A}.clip_ratio_c=1.1"]))


@pytest.mark.parametrize(
    ("overrides", "loss_type", "clip", "eps"),
    [
        ((), "bnpo", 1.0, 1e-8),
        (("trainer.use_legacy_worker_impl=enable",), "bnpo", 1.0, 1e-8),
        (("trainer.use_legacy_worker_impl=disable",), "dapo", 1.0, 1e-8),
        ((f"{A}.loss_agg_mode=seq-mean-token-mean",), "grpo", 1.0, 1e-8),
        ((SUM_NORM,), "dr_grpo", 0.5, 5e-9),  # TRL's gradient is verl's / micro (2): scale clip and epsilon alike
        ((SUM_NORM, f"{A}.ppo_micro_batch_size_per_gpu=4"), "dr_grpo", 0.25, 2.5e-9),
        ((SUM_NORM, "trainer.use_legacy_worker_impl=disable"), "dr_grpo", 1.0, 1e-8),
    ],
)
def test_loss_agg_mode_per_verl_actor(overrides: tuple[str, ...], loss_type: str, clip: float, eps: float) -> None:
    got = kw(*overrides)
    assert (got["loss_type"], got["max_grad_norm"], got["adam_epsilon"]) == (loss_type, clip, eps)


def test_unknown_worker_impl_is_refused() -> None:
    with pytest.raises(ConfigError, match="use_legacy_worker_impl='v2' is not supported"):
        load_config(["trainer.use_legacy_worker_impl=v2"])


def test_entropy_bonus_only_where_trl_aggregates_it_as_verl() -> None:
    assert kw(f"{A}.entropy_coeff=0.01")["entropy_coef"] == 0.01
    for extra in (f"{A}.loss_agg_mode=seq-mean-token-mean", SUM_NORM, "trainer.use_legacy_worker_impl=disable"):
        with pytest.raises(ConfigError, match="entropy_coeff=0.01 needs loss_agg_mode=token-mean"):
            check_trl_support(load_config([f"{A}.entropy_coeff=0.01", extra]))


@pytest.mark.parametrize(("level", "threshold"), [("token", 2.0), ("sequence", 5.0)])
def test_rollout_correction_maps_to_trl_truncation(level: str, threshold: float, tmp_path: Path) -> None:
    overrides = [f"{RC}.rollout_is={level}", f"{RC}.rollout_is_threshold={threshold}", f"trainer.default_local_dir={tmp_path}"]
    args = to_grpo_config(load_config(overrides), 1)
    assert args.vllm_importance_sampling_correction is True
    assert (args.vllm_importance_sampling_mode, args.vllm_importance_sampling_clip_max) == (f"{level}_truncate", threshold)
    assert args.vllm_importance_sampling_clip_min is None  # verl truncates from above only


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (f"{RC}.rollout_is=geometric", "rollout_is='geometric' is not supported"),
        (f"{RC}.rollout_rs=token", "rollout_rs is not supported by deepscaler-grpo because"),
        (f"{RC}.bypass_mode=true", "bypass_mode is not supported by deepscaler-grpo because"),
        (f"{RC}.rollout_is_threshold=0", "rollout_is_threshold must be > 0"),
    ],
)
def test_rollout_correction_refuses_what_trl_cannot_do(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config([override])


def test_rollout_correction_needs_vllm_rollouts() -> None:
    with pytest.raises(ConfigError, match="set rollout_is=null or rollout.name=vllm"):
        check_trl_support(load_config([f"{RC}.rollout_is=token", "actor_rollout_ref.rollout.name=hf"]))
