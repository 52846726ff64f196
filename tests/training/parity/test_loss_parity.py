"""TRL's GRPO loss, configured by ``deepscaler_grpo.training.mapping``, against verl's (``verl_reference``), per optimizer step.

Exact cases must match verl within 1e-3 (the residue is TRL's advantage epsilon 1e-4 vs verl's 1e-6) and within
1e-6 once the reference uses TRL's epsilon; each known deviation is pinned at its measured size, so a TRL upgrade
that changes the loss fails here. One spawn of two gloo processes covers the data-parallel path.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from .cases import EXACT, MEASURED, TWO_PROCESS_MEASURED, TWO_PROCESSES
from .trl_driver import (
    Case,
    distributed_trl_gradients,
    make_rollout,
    parity_config,
    relative_error,
    trl_gradients,
    trl_trajectory,
    verl_actor,
    verl_gradients,
    verl_trajectory,
)
from .verl_reference import grpo_advantages

TRL_ADV_EPSILON = 1e-4


def _errors(got: torch.Tensor, case: Case, world: int = 1) -> tuple[float, float]:
    """Relative error against verl, and against verl with TRL's advantage epsilon."""
    actor = verl_actor(parity_config(case, world), **case.reference)
    verl = relative_error(got, verl_gradients(case, actor, world))
    return verl, relative_error(got, verl_gradients(case, actor, world, adv_eps=TRL_ADV_EPSILON))


@pytest.mark.parametrize("case", EXACT, ids=lambda c: c.name)
def test_trl_gradient_equals_verl(case: Case, tiny_model_dir: Path) -> None:
    verl, same_epsilon = _errors(trl_gradients(case, tiny_model_dir)[0], case)
    assert verl < 1e-3 and same_epsilon < 1e-6


@pytest.mark.parametrize(("case", "measured"), MEASURED, ids=[c.name for c, _ in MEASURED])
def test_known_deviation_is_as_measured(case: Case, measured: float, tiny_model_dir: Path) -> None:
    verl, _ = _errors(trl_gradients(case, tiny_model_dir)[0], case)
    assert verl == pytest.approx(measured, rel=0.02)


def test_legacy_sum_norm_gradient_is_verl_over_micro(tiny_model_dir: Path) -> None:
    case = Case("sum-norm", ("actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-sum-norm",))
    got, _ = trl_gradients(case, tiny_model_dir)
    want = verl_gradients(case, verl_actor(parity_config(case)), adv_eps=TRL_ADV_EPSILON)
    assert relative_error(got * case.geometry.micro, want) < 1e-6


def test_dr_grpo_on_legacy_actor_takes_verls_adamw_and_clipping_steps(tiny_model_dir: Path) -> None:
    """The mapping divides max_grad_norm and adam_epsilon by micro: same trajectory although TRL's gradient is
    verl's / micro; without that scaling, clipping (here on one mini-batch of two) and epsilon move it."""
    case = Case("sum-norm", ("actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-sum-norm",
                             "actor_rollout_ref.actor.grad_clip=0.15", "actor_rollout_ref.actor.optim.lr=0.01"), drift=0.3)
    norms = [float(g[0].norm()) for g in verl_gradients(case, verl_actor(parity_config(case)), adv_eps=TRL_ADV_EPSILON)]
    assert min(norms) < 0.15 < max(norms)  # verl clips one mini-batch and not the other
    start = make_rollout(case).logp_now
    want = verl_trajectory(case, steps=6) - start
    assert relative_error(trl_trajectory(case, tiny_model_dir, steps=6) - start, want) < 1e-5
    unscaled = replace(case, trl_overrides={"max_grad_norm": 0.15, "adam_epsilon": 1e-8})
    unscaled = trl_trajectory(unscaled, tiny_model_dir, steps=6) - start
    assert relative_error(unscaled, want) > 1e-3


def test_trl_advantage_differs_from_verl_by_its_epsilon_only(tiny_model_dir: Path) -> None:
    case = Case("defaults")
    _, advantages = trl_gradients(case, tiny_model_dir)
    scores, n = make_rollout(case).scores, case.geometry.n
    torch.testing.assert_close(advantages, grpo_advantages(scores, n, eps=TRL_ADV_EPSILON), rtol=1e-6, atol=1e-6)
    verl = grpo_advantages(scores, n)
    assert 1e-5 < float((advantages - verl).norm() / verl.norm()) < 1e-3


def test_dual_clip_cases_reach_ratio_c() -> None:
    """The dual-clip rollouts do put negative-advantage tokens beyond clip_ratio_c = 3 (the cases are not vacuous)."""
    case = next(c for c in EXACT if c.dual_clip_frac)
    r = make_rollout(case)
    negative = (grpo_advantages(r.scores, case.geometry.n) < 0)[:, None] & r.mask.bool()
    beyond = (torch.exp(r.logp_now - r.logp_old) > 3) & negative
    assert 0 < int(beyond.sum()) <= 3 * case.dual_clip_frac * int(r.mask.sum())


def test_trl_backpropagates_compute_loss_unscaled() -> None:
    """training_step uses compute_loss as is (no extra 1/accumulation), which the driver relies on."""
    from trl import GRPOTrainer

    assert GRPOTrainer.loss_is_scaled_for_ga is True


def test_two_process_cases_include_ranks_padded_below_max_length() -> None:
    case = TWO_PROCESSES[-1]
    lengths = make_rollout(case).mask.sum(dim=1)
    assert lengths[: case.geometry.rows // 2].max() == case.geometry.length > lengths[case.geometry.rows // 2 :].max()


@pytest.fixture(scope="module")
def two_process_gradients(tiny_model_dir: Path) -> dict[str, torch.Tensor]:
    return distributed_trl_gradients(TWO_PROCESSES, tiny_model_dir, world=2)


@pytest.mark.parametrize("case", TWO_PROCESSES, ids=lambda c: c.name)
def test_two_processes(case: Case, two_process_gradients: dict[str, torch.Tensor]) -> None:
    verl, same_epsilon = _errors(two_process_gradients[case.name], case, world=2)
    if case.name in TWO_PROCESS_MEASURED:
        assert verl == pytest.approx(TWO_PROCESS_MEASURED[case.name], rel=0.02)
    else:
        assert verl < 1e-3 and same_epsilon < 1e-6
