"""Print the parity table at the recipe's geometry: 64 prompts x 5, mini-batch 32, micro-batch 2, up to 2048 tokens.

    PYTHONPATH=src python -m tests.training.parity.measure   # about a minute on 2 CPU cores

Each row: TRL's real loss as ``deepscaler_grpo.training.mapping`` configures it, against the verl reference, as the worst
optimizer step's relative L2 gradient error (the two mini-batches of one rollout). Response lengths are uniform
in 1..2048, rewards 0/1, the policy has drifted by 0.05 per token since the rollout.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

from torch import Tensor

from .cases import ACTOR, AGG, NEW_ENGINE, TRL_DEFAULT_IS
from .trl_driver import (
    RECIPE,
    Case,
    distributed_trl_gradients,
    parity_config,
    relative_error,
    trl_gradients,
    verl_actor,
    verl_gradients,
)

RC = "algorithm.rollout_correction.rollout_is"
SUM_NORM = f"{AGG}=seq-mean-token-sum-norm"


def rows() -> list[tuple[str, Case]]:
    """(what TRL gets, case) in table order; a case's ``reference`` names the verl it is held to."""
    legacy, new = {"legacy": True}, {"legacy": False}
    table = [
        ("token-mean (defaults) -> bnpo, vs legacy dp_actor", Case("a", reference=legacy)),
        ("token-mean (defaults) -> bnpo, vs new engine", Case("b", reference=new)),
        ("token-mean, new engine -> dapo, vs new engine", Case("c", (NEW_ENGINE,), reference=new)),
        ("token-mean, new engine -> dapo, vs legacy dp_actor", Case("d", (NEW_ENGINE,), reference=legacy)),
        ("seq-mean-token-mean -> grpo (either actor)", Case("e", (f"{AGG}=seq-mean-token-mean",))),
        ("seq-mean-token-sum-norm, legacy -> dr_grpo (raw gradient)", Case("f", (SUM_NORM,))),
        ("seq-mean-token-sum-norm, new engine -> dr_grpo", Case("g", (SUM_NORM, NEW_ENGINE))),
        ("dual-clip 1% at ratio 4.5 -> delta=clip_ratio_c (defaults)", Case("h", dual_clip_frac=0.01)),
        ("dual-clip 1% at ratio 4.5, delta unset (old mapping)", Case("i", dual_clip_frac=0.01, trl_overrides={"delta": None})),
        ("clip_ratio_high=0.28, drift 0.2", Case("j", (f"{ACTOR}.clip_ratio_high=0.28",), drift=0.2)),
        ("kl_loss_type=k3, kl_loss_coef=0.1, |logp-ref| ~ 0.3", Case("k", (f"{ACTOR}.kl_loss_type=k3", f"{ACTOR}.kl_loss_coef=0.1"), ref_noise=0.3)),
        ("entropy_coeff=0.01 (legacy token-mean)", Case("l", (f"{ACTOR}.entropy_coeff=0.01",))),
    ]
    for mismatch in (0.005, 0.01, 0.02):
        table += [
            (f"vLLM, mismatch {mismatch}: no correction (defaults)", Case(f"m{mismatch}", use_vllm=True, mismatch=mismatch)),
            (f"vLLM, mismatch {mismatch}: TRL's default correction", Case(f"n{mismatch}", use_vllm=True, mismatch=mismatch, trl_overrides=TRL_DEFAULT_IS)),
        ]
    table += [
        ("vLLM, mismatch 0.02: rollout_is=token", Case("o", (f"{RC}=token",), use_vllm=True, mismatch=0.02)),
        ("vLLM, mismatch 0.02: rollout_is=sequence", Case("p", (f"{RC}=sequence",), use_vllm=True, mismatch=0.02)),
    ]
    return [(label, replace(case, geometry=RECIPE, drift=case.drift if case.drift != 0.1 else 0.05)) for label, case in table]


def error(case: Case, got: Tensor, world: int = 1) -> float:
    actor = verl_actor(parity_config(case, world), **case.reference)
    return relative_error(got, verl_gradients(case, actor, world))


def main() -> int:
    warnings.filterwarnings("ignore")
    from deepscaler_grpo.demo.tiny import save_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_tiny_model(Path(tmp) / "tiny")
        print("| configuration | TRL gradient vs verl (relative L2) |\n|---|---|")
        start = time.time()
        for label, case in rows():
            print(f"| {label} | {error(case, trl_gradients(case, model_dir)[0]):.2g} |", flush=True)
        two = [replace(case, name=label) for label, case in rows()[:5:2]]
        for case, got in zip(two, distributed_trl_gradients(two, model_dir).values(), strict=True):
            print(f"| {case.name}, 2 processes | {error(case, got, world=2):.2g} |", flush=True)
        print(f"\n{time.time() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
