"""verl's GRPO actor loss as pure torch functions: the oracle the parity tests hold TRL to (test code, not product).

Written from verl's documented formulas (PPO/GRPO papers, verl's algorithm docs and config reference), not from its
source. One optimizer step of verl's actor on a mini-batch:

* advantage (GRPO outcome): ``(score - mean_group) / (std_group + 1e-6)`` (unbiased std), or ``score - mean``
  without ``norm_adv_by_std_in_grpo``; the same value for every token of a response.
* policy loss per token, ratio ``r = exp(clamp(logp - old, -20, 20))``:
  ``max(-A r, -A clip(r, 1 - clip_ratio_low, 1 + clip_ratio_high))``, and for ``A < 0`` (dual-clip) at most
  ``-A clip_ratio_c``; times the rollout-correction weight ``min(exp(old - rollout), threshold)`` (per token,
  or per sequence with the log-ratios summed) when ``rollout_is`` is set.
* ``loss = agg(pg) - entropy_coeff agg(entropy) + kl_loss_coef agg(kl)`` with ``agg`` = ``loss_agg_mode``.
* the legacy actor (dp_actor) aggregates each micro-batch on its own and scales it by 1/accumulation; the new
  engine normalises every micro-batch by the whole mini-batch's tokens or sequences (across data-parallel ranks)
  and multiplies by the number of ranks; in both, ranks' gradients are averaged (FSDP/DDP).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

ADV_EPSILON = 1e-6
KL_CLAMP = 10.0
LOG_RATIO_CLAMP = 20.0


@dataclass(frozen=True)
class VerlActor:
    """The verl actor settings the loss reads (names as in verl's ``actor_rollout_ref.actor`` / ``algorithm``)."""

    loss_agg_mode: str = "token-mean"
    clip_ratio: float = 0.2
    clip_ratio_low: float | None = 0.2
    clip_ratio_high: float | None = 0.2
    clip_ratio_c: float = 3.0
    use_kl_loss: bool = True
    kl_loss_coef: float = 0.001
    kl_loss_type: str = "low_var_kl"
    entropy_coeff: float = 0.0
    loss_scale_factor: int = 2048  # seq-mean-token-sum-norm divisor: the (padded) max response length
    rollout_is: str | None = None  # None, "token" or "sequence"
    rollout_is_threshold: float = 2.0
    legacy: bool = False  # True: dp_actor (per micro-batch); False: the new engine (mini-batch-global)

    @property
    def low(self) -> float:
        return self.clip_ratio if self.clip_ratio_low is None else self.clip_ratio_low

    @property
    def high(self) -> float:
        return self.clip_ratio if self.clip_ratio_high is None else self.clip_ratio_high


def grpo_advantages(scores: Tensor, n: int, norm_by_std: bool = True, eps: float = ADV_EPSILON) -> Tensor:
    """One advantage per response; ``scores`` holds consecutive groups of ``n`` responses to one prompt."""
    groups = scores.view(-1, n)
    centred = groups - groups.mean(dim=1, keepdim=True)
    if norm_by_std:
        centred = centred / (groups.std(dim=1, keepdim=True) + eps)
    return centred.reshape(-1)


def kl_penalty(logp: Tensor, ref_logp: Tensor, kind: str) -> Tensor:
    """Per-token KL estimate between the policy and the reference (Schulman's k1/k2/k3)."""
    diff = logp - ref_logp
    if kind in ("low_var_kl", "k3"):
        return torch.clamp(torch.exp(-diff) + diff - 1, -KL_CLAMP, KL_CLAMP)
    if kind in ("kl", "k1"):
        return diff
    if kind in ("mse", "k2"):
        return 0.5 * diff.square()
    if kind == "abs":
        return diff.abs()
    raise ValueError(f"unknown kl type {kind}")


def policy_loss(logp: Tensor, old_logp: Tensor, adv: Tensor, actor: VerlActor) -> Tensor:
    """Per-token clipped PPO loss with clip-higher and dual-clip; ``adv`` is (B, 1) or (B, T)."""
    ratio = torch.exp(torch.clamp(logp - old_logp, -LOG_RATIO_CLAMP, LOG_RATIO_CLAMP))
    ppo = torch.maximum(-adv * ratio, -adv * torch.clamp(ratio, 1 - actor.low, 1 + actor.high))
    dual = torch.minimum(ppo, -adv * actor.clip_ratio_c)
    return torch.where(adv < 0, dual, ppo)


def rollout_is_weights(old_logp: Tensor, rollout_logp: Tensor, mask: Tensor, actor: VerlActor) -> Tensor:
    """Truncated importance weights pi_old / pi_rollout (detached), zero on padding."""
    log_w = (old_logp - rollout_logp) * mask
    if actor.rollout_is == "sequence":
        log_w = log_w.sum(dim=-1, keepdim=True).expand_as(mask)
    weights = torch.exp(torch.clamp(log_w, -LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)).clamp(max=actor.rollout_is_threshold)
    return (weights * mask).detach()


def aggregate(loss: Tensor, mask: Tensor, mode: str, scale: int, tokens: Tensor | None, seqs: int | None) -> Tensor:
    """verl's ``agg_loss``; ``tokens`` / ``seqs`` None: this micro-batch's own counts (legacy actor)."""
    masked = loss * mask
    if mode == "token-mean":
        return masked.sum() / (mask.sum() if tokens is None else tokens)
    if mode == "seq-mean-token-mean":
        per_seq = masked.sum(dim=-1) / mask.sum(dim=-1).clamp(min=1)
        return per_seq.sum() / (mask.size(0) if seqs is None else seqs)
    if mode == "seq-mean-token-sum-norm":
        total = masked.sum() / scale
        return total if seqs is None else total / seqs  # legacy: a sum over the micro-batch, not a mean
    raise ValueError(f"unknown loss_agg_mode {mode}")


@dataclass
class MicroBatch:
    """One micro-batch's tensors, (B, T) each; ``adv`` is (B,); ``rollout_logp`` only for vLLM rollouts."""

    logp: Tensor
    old_logp: Tensor
    ref_logp: Tensor
    entropy: Tensor
    adv: Tensor
    mask: Tensor
    rollout_logp: Tensor | None = None


def micro_batch_loss(mb: MicroBatch, actor: VerlActor, tokens: Tensor | None = None, seqs: int | None = None) -> Tensor:
    """The actor's objective on one micro-batch, before the accumulation / data-parallel scaling."""
    pg = policy_loss(mb.logp, mb.old_logp, mb.adv.unsqueeze(-1), actor)
    if actor.rollout_is is not None and mb.rollout_logp is not None:
        pg = pg * rollout_is_weights(mb.old_logp, mb.rollout_logp, mb.mask, actor)

    def agg(x: Tensor) -> Tensor:
        return aggregate(x, mb.mask, actor.loss_agg_mode, actor.loss_scale_factor, tokens, seqs)

    loss = agg(pg)
    if actor.entropy_coeff != 0:
        loss = loss - actor.entropy_coeff * agg(mb.entropy)
    if actor.use_kl_loss:
        loss = loss + actor.kl_loss_coef * agg(kl_penalty(mb.logp, mb.ref_logp, actor.kl_loss_type))
    return loss


def mini_batch_objective(ranks: list[list[MicroBatch]], actor: VerlActor) -> Tensor:
    """A scalar whose gradient is what one optimizer step applies: each rank's accumulated micro-batch losses,
    averaged over ranks as FSDP averages gradients. ``ranks[k]`` lists rank k's micro-batches in order."""
    world = len(ranks)
    tokens = sum(mb.mask.sum() for micro in ranks for mb in micro)
    seqs = sum(mb.mask.size(0) for micro in ranks for mb in micro)
    per_rank = []
    for micro in ranks:
        if actor.legacy:
            per_rank.append(sum(micro_batch_loss(mb, actor) / len(micro) for mb in micro))
        else:
            per_rank.append(sum(micro_batch_loss(mb, actor, tokens, seqs) * world for mb in micro))
    return sum(per_rank) / world
