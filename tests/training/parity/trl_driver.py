"""Run TRL's real GRPOTrainer, configured by ``deepscaler_grpo.training.mapping``, and the verl reference on one fixed rollout.

The trainer is built around the tiny Qwen3 (so ``GRPOTrainer.__init__`` runs as in training), then its policy and
reference are swapped for :class:`LogProbTable` modules whose parameters *are* the per-token log-probs: the
gradient TRL's loss puts on them is exactly d loss / d logp, compared with the reference's. TRL's own
``_generate_and_score_completions`` turns the rollout into training inputs (rewards -> advantages, old and
reference log-probs, num_items_in_batch, the vLLM importance-sampling ratio); only ``_generate`` is replaced, by
the fixed rollout. Micro-batches are fed to ``compute_loss`` in order and backpropagated as ``training_step``
does (GRPOTrainer sets ``loss_is_scaled_for_ga``, so the loss is used unscaled; DDP averages ranks).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepscaler_grpo.config import Config, load_config
from deepscaler_grpo.training.mapping import grpo_kwargs

from .verl_reference import ADV_EPSILON, MicroBatch, VerlActor, grpo_advantages, mini_batch_objective


@dataclass(frozen=True)
class Geometry:
    """Rollout shape; the default is tiny: 4 prompts x 4 = 16 responses, 2 mini-batches of 8, micro-batches of 2."""

    prompts: int = 4
    n: int = 4
    length: int = 8  # max response length
    mini: int = 2  # prompts per optimizer step
    micro: int = 2  # responses per forward/backward per rank

    @property
    def rows(self) -> int:
        return self.prompts * self.n


RECIPE = Geometry(prompts=64, n=5, length=2048, mini=32, micro=2)


@dataclass(frozen=True)
class Case:
    """A configuration to compare: our config overrides, rollout shape, and what the reference should be."""

    name: str
    overrides: tuple[str, ...] = ()
    use_vllm: bool = False
    mismatch: float = 0.0  # std of the per-token rollout (vLLM) vs trainer log-prob difference
    drift: float = 0.1  # std of the per-token policy change since the rollout (the ratio's log)
    dual_clip_frac: float = 0.0  # share of response tokens (negative-advantage ones) pushed to ratio ~4.5
    ref_noise: float = 0.05  # std of the per-token policy vs reference log-prob difference
    trl_overrides: dict[str, Any] = field(default_factory=dict)  # GRPOConfig values other than the mapping's
    reference: dict[str, Any] = field(default_factory=dict)  # VerlActor fields other than the config's
    geometry: Geometry = Geometry()


def parity_config(case: Case, world: int = 1) -> Config:
    g = case.geometry
    base = [
        f"data.train_batch_size={g.prompts}", f"actor_rollout_ref.rollout.n={g.n}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={g.mini}", f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={g.micro}",
        f"data.max_response_length={g.length}", f"trainer.n_gpus_per_node={world}", "trainer.total_training_steps=1",
        f"trainer.default_local_dir={tempfile.gettempdir()}/deepscaler-parity",
    ]
    return load_config(base + list(case.overrides))


def verl_actor(cfg: Config, **changes: Any) -> VerlActor:
    """The verl actor our config describes, read with verl's meaning of each key."""
    actor, correction = cfg.actor_rollout_ref.actor, cfg.algorithm.rollout_correction
    verl = VerlActor(
        loss_agg_mode=actor.loss_agg_mode, clip_ratio=actor.clip_ratio, clip_ratio_low=actor.clip_ratio_low,
        clip_ratio_high=actor.clip_ratio_high, clip_ratio_c=actor.clip_ratio_c, use_kl_loss=actor.use_kl_loss,
        kl_loss_coef=actor.kl_loss_coef, kl_loss_type=actor.kl_loss_type, entropy_coeff=actor.entropy_coeff,
        loss_scale_factor=cfg.data.max_response_length, rollout_is=correction.rollout_is,
        rollout_is_threshold=correction.rollout_is_threshold, legacy=cfg.trainer.use_legacy_worker_impl != "disable",
    )
    return replace(verl, **changes)


# ------------------------------------------------------------------------------------------------ the rollout


@dataclass
class Rollout:
    """Fixed tensors for R responses of up to T tokens; row r is response r % n of prompt r // n."""

    scores: Tensor  # (R,)
    mask: Tensor  # (R, T) 0/1
    ids: Tensor  # (R, T) completion token ids
    logp_old: Tensor  # (R, T) the policy at rollout time (what the trainer recomputes as old log-probs)
    logp_now: Tensor  # (R, T) the policy now (the parameter the gradient is taken for)
    ref: Tensor  # (R, T)
    entropy: Tensor  # (R, T)
    sampled: Tensor  # (R, T) the rollout engine's log-probs (vLLM)


def make_rollout(case: Case, seed: int = 0) -> Rollout:
    """A seeded rollout: lengths uniform in 1..T, 0/1 rewards, the policy drifted by ``case.drift`` since."""
    n, length, rows = case.geometry.n, case.geometry.length, case.geometry.rows
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (rows,), generator=g)
    lengths[0] = length  # the longest possible response occurs
    mask = (torch.arange(length) < lengths[:, None]).float()
    scores = torch.randint(0, 2, (rows,), generator=g).float()
    scores[:n] = 1.0  # one group with zero std: advantage 0 in both
    logp_old = torch.log(torch.rand(rows, length, generator=g) * 0.95 + 0.05)
    shift = torch.randn(rows, length, generator=g) * case.drift
    if case.dual_clip_frac:
        negative = (grpo_advantages(scores, n) < 0)[:, None] & mask.bool()
        share = case.dual_clip_frac * mask.sum() / negative.sum()  # of all response tokens
        pick = negative & (torch.rand(rows, length, generator=g) < share)
        shift = torch.where(pick, torch.full_like(shift, 1.5), shift)
    return Rollout(
        scores=scores, mask=mask, ids=torch.randint(3, 1000, (rows, length), generator=g) * mask.long(),
        logp_old=logp_old, logp_now=logp_old + shift * mask, ref=logp_old + case.ref_noise * torch.randn(rows, length, generator=g),
        entropy=torch.rand(rows, length, generator=g) * 3, sampled=logp_old + case.mismatch * torch.randn(rows, length, generator=g),
    )


def plan(geometry: Geometry, world: int) -> list[list[list[Tensor]]]:
    """Row indices ``[mini-batch][rank][micro-batch]``: each rank holds a contiguous shard of the rollout and
    walks it in order, ``mini * n / world`` rows per optimizer step (TRL and verl see the same micro-batches)."""
    rows, micro, mini_rows = geometry.rows, geometry.micro, geometry.mini * geometry.n
    shard, per_rank = rows // world, mini_rows // world
    return [
        [[torch.arange(k * shard + m * per_rank + j, k * shard + m * per_rank + j + micro) for j in range(0, per_rank, micro)]
         for k in range(world)]
        for m in range(rows // mini_rows)
    ]


# ---------------------------------------------------------------------------------------------------- verl side


def verl_gradients(case: Case, actor: VerlActor, world: int = 1, adv_eps: float = ADV_EPSILON) -> Tensor:
    """(mini-batches, 2, R, T): d objective / d (log-probs, entropies) for each optimizer step, by the reference."""
    rollout, by_std = make_rollout(case), parity_config(case).algorithm.norm_adv_by_std_in_grpo
    logp = rollout.logp_now.clone().requires_grad_(True)
    entropy = rollout.entropy.clone().requires_grad_(True)
    adv = grpo_advantages(rollout.scores, case.geometry.n, norm_by_std=by_std, eps=adv_eps)
    grads = []
    for ranks in plan(case.geometry, world):
        micro = [[_micro(rollout, logp, entropy, adv, rows) for rows in local] for local in ranks]
        mini_batch_objective(micro, actor).backward()
        grads.append(torch.stack([_grad(logp), _grad(entropy)]))
        logp.grad, entropy.grad = None, None
    return torch.stack(grads)


def _grad(x: Tensor) -> Tensor:
    return torch.zeros_like(x) if x.grad is None else x.grad.clone()


def _micro(r: Rollout, logp: Tensor, entropy: Tensor, adv: Tensor, rows: Tensor) -> MicroBatch:
    return MicroBatch(logp=logp[rows], old_logp=r.logp_old[rows], ref_logp=r.ref[rows], entropy=entropy[rows],
                      adv=adv[rows], mask=r.mask[rows], rollout_logp=r.sampled[rows])


# ----------------------------------------------------------------------------------------------------- TRL side


class LogProbTable(nn.Module):
    """Stands in for the LM: row ``input_ids[:, 0]``'s log-probs and entropies are parameters."""

    def __init__(self, logp: Tensor, entropy: Tensor, trainable: bool = True) -> None:
        super().__init__()
        self.logp = nn.Parameter(logp.clone(), requires_grad=trainable)
        self.entropy = nn.Parameter(entropy.clone(), requires_grad=trainable)
        self.is_gradient_checkpointing = False

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, **_: Any) -> SimpleNamespace:
        """Prompts are one token (the row); completions are padded to this rank's longest, <= the table's width."""
        rows, width = input_ids[:, 0], input_ids.size(1) - 1
        return SimpleNamespace(log_probs=F.pad(self.logp[rows, :width], (1, 0)), entropy=F.pad(self.entropy[rows, :width], (1, 0)))


def _score(prompts: list[Any], completions: list[Any], score: list[float], **_: Any) -> list[float]:
    return list(score)


def build_trainer(cfg: Config, case: Case, world: int, model_dir: Path, rollout: Rollout) -> Any:
    """A GRPOTrainer from our mapping, with the log-prob tables as policy and reference, generating ``rollout``."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    kwargs = grpo_kwargs(cfg, world)
    kwargs.pop("model_init_kwargs")
    args = GRPOConfig(**{**kwargs, "reward_weights": None, "use_cpu": True, **case.trl_overrides})  # one stand-in reward; use_cpu: gloo ranks
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir), reward_funcs=_score, args=args,
        train_dataset=Dataset.from_dict({"prompt": ["0"]}), processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    trainer.model = LogProbTable(rollout.logp_old, rollout.entropy).train()
    trainer.ref_model = LogProbTable(rollout.ref, rollout.entropy, trainable=False)
    trainer.use_vllm = case.use_vllm  # the loss path only; generation is the fixed rollout
    trainer.current_gradient_accumulation_steps = args.gradient_accumulation_steps
    assert trainer.accelerator.num_processes == world, "accelerate did not see the spawned processes"
    trainer._generate = lambda prompts: _generate(rollout, prompts, case.use_vllm)
    return trainer


def _generate(r: Rollout, prompts: list[str], sampled: bool) -> tuple[Any, ...]:
    rows = [int(p) for p in prompts]
    length = [int(r.mask[i].sum()) for i in rows]
    completion_ids = [r.ids[i, : length[k]].tolist() for k, i in enumerate(rows)]
    logps = [r.sampled[i, : length[k]].tolist() for k, i in enumerate(rows)] if sampled else None
    return [[i] for i in rows], completion_ids, None, [f"c{i}" for i in rows], logps, {}, None, None


def trl_setup(case: Case, model_dir: Path, world: int = 1, rank: int = 0) -> tuple[Any, dict[str, Any]]:
    """The trainer and this rank's training inputs from TRL's ``_generate_and_score_completions``; the policy
    table is then moved to ``logp_now`` (the policy has changed since the rollout)."""
    rollout = make_rollout(case)
    trainer = build_trainer(parity_config(case, world), case, world, model_dir, rollout)
    rows = case.geometry.rows
    shard = torch.arange(rank * rows // world, (rank + 1) * rows // world)
    batch = trainer._generate_and_score_completions([{"prompt": str(int(i)), "score": float(rollout.scores[i])} for i in shard])
    trainer.model.logp.data.copy_(rollout.logp_now)
    return trainer, batch


def trl_step_gradient(trainer: Any, batch: dict[str, Any], micro_rows: list[Tensor], world: int = 1) -> Tensor:
    """(2, R, T): one optimizer step's gradient on (log-probs, entropies), averaged over ranks as DDP does;
    ``micro_rows`` are this rank's micro-batches as indices into its own ``batch``."""
    table = trainer.model
    table.zero_grad(set_to_none=True)
    for rows in micro_rows:
        trainer.compute_loss(table, _rows(batch, rows)).backward()
    grad = torch.stack([_grad(table.logp), _grad(table.entropy)])
    if world > 1:
        torch.distributed.all_reduce(grad)
        grad /= world
    return grad


def trl_gradients(case: Case, model_dir: Path, world: int = 1, rank: int = 0) -> tuple[Tensor, Tensor]:
    """(mini-batches, 2, R, T) gradients TRL applies per optimizer step (averaged over ranks), and the advantages
    TRL computed for this rank's rows."""
    trainer, batch = trl_setup(case, model_dir, world, rank)
    offset = rank * case.geometry.rows // world
    grads = [trl_step_gradient(trainer, batch, [r - offset for r in ranks[rank]], world) for ranks in plan(case.geometry, world)]
    return torch.stack(grads), batch["advantages"]


def trl_trajectory(case: Case, model_dir: Path, steps: int) -> Tensor:
    """(steps, R, T) policy log-probs after each optimizer step on TRL's gradients, with the optimizer and the
    gradient clipping TRL's Trainer builds from the mapping's settings, cycling through the mini-batches."""
    trainer, batch = trl_setup(case, model_dir)
    table, optimizer = trainer.model, trainer.create_optimizer()
    minis, path = plan(case.geometry, 1), []
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        table.logp.grad = trl_step_gradient(trainer, batch, minis[step % len(minis)][0])[0]
        trainer.accelerator.clip_grad_norm_(table.parameters(), trainer.args.max_grad_norm)
        optimizer.step()
        path.append(table.logp.detach().clone())
    return torch.stack(path)


def verl_trajectory(case: Case, steps: int) -> Tensor:
    """The same trajectory with the reference's gradients and verl's optimizer (AdamW eps 1e-8, clip grad_clip)."""
    cfg = parity_config(case)
    actor, optim, rollout = verl_actor(cfg), cfg.actor_rollout_ref.actor.optim, make_rollout(case)
    logp = rollout.logp_now.clone().requires_grad_(True)
    entropy = rollout.entropy.clone().requires_grad_(True)
    adv = grpo_advantages(rollout.scores, case.geometry.n, eps=1e-4)  # TRL's epsilon: the optimizer is under test
    optimizer = torch.optim.AdamW([logp], lr=optim.lr, eps=1e-8, betas=tuple(optim.betas), weight_decay=optim.weight_decay)
    minis, path = plan(case.geometry, 1), []
    for step in range(steps):
        optimizer.zero_grad()
        micro = [[_micro(rollout, logp, entropy, adv, rows) for rows in local] for local in minis[step % len(minis)]]
        mini_batch_objective(micro, actor).backward()
        torch.nn.utils.clip_grad_norm_([logp], cfg.actor_rollout_ref.actor.grad_clip)
        optimizer.step()
        path.append(logp.detach().clone())
    return torch.stack(path)


def _rows(batch: dict[str, Any], rows: Tensor) -> dict[str, Any]:
    size = batch["completion_ids"].size(0)
    return {k: v[rows] if isinstance(v, Tensor) and v.dim() and v.size(0) == size else v for k, v in batch.items()}


def relative_error(got: Tensor, want: Tensor) -> float:
    """Worst optimizer step's relative L2 distance ||got - want|| / ||want||."""
    return max(float((g - w).norm() / w.norm()) for g, w in zip(got, want, strict=True))


def compare(case: Case, model_dir: Path, adv_eps: float = ADV_EPSILON) -> float:
    """TRL (one process) against the verl reference for ``case`` (``adv_eps=1e-4``: with TRL's advantage epsilon)."""
    got, _ = trl_gradients(case, model_dir)
    return relative_error(got, verl_gradients(case, verl_actor(parity_config(case), **case.reference), adv_eps=adv_eps))


# ------------------------------------------------------------------------------------------- two processes


def _worker(rank: int, world: int, port: int, cases: list[Case], model_dir: Path, out: Path) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    from transformers.utils import logging

    logging.set_verbosity_error()  # "process group is initialized, but parallel_mode != DISTRIBUTED": we do DDP's part
    results = {case.name: trl_gradients(case, model_dir, world, rank) for case in cases}
    if rank == 0:
        torch.save({name: grads for name, (grads, _) in results.items()}, out)
    torch.distributed.barrier()


def distributed_trl_gradients(cases: list[Case], model_dir: Path, world: int = 2) -> dict[str, Tensor]:
    """TRL's per-step gradients with ``world`` gloo processes on CPU, one entry per case."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "grads.pt"
        mp.spawn(_worker, args=(world, port, cases, model_dir, out), nprocs=world, join=True)
        return torch.load(out)
