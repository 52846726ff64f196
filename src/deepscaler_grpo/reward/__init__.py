"""The answer verifier: extraction, exact fast paths, sandboxed symbolic grading, reward functions.

    from deepscaler_grpo.reward import VerifierPolicy, extract_answer, verify, compute_score, make_reward_funcs
    verify("\\\\dfrac{3}{4}", "0.75")                       # True (exact, no float tolerance)
    compute_score("math", "<answer>142</answer>", 142.0)  # {'score': 1.0, 'acc': True, 'pred': '142', ...}
    verify("0.667", "\\\\frac23", policy=VerifierPolicy(decimal_digits=3))   # the decimal policy, per call

Every entry point takes ``policy=`` (a ``VerifierPolicy``; None: ``VerifierPolicy.from_env()``) and the
``question`` it answers. verl: point ``custom_reward_function.path`` at this package's ``scoring.py``
(function ``compute_score``). TRL: ``reward_funcs, reward_weights = make_reward_funcs(format_weight=0.1)``.
CLI: ``deepscaler-grpo score INPUT.jsonl`` (see ``deepscaler_grpo.reward.cli``).
"""

from deepscaler_grpo.reward.checking import GroundTruth, Verdict, check, check_many, gold_strings, verify
from deepscaler_grpo.reward.extract import extract_answer, has_answer_tag
from deepscaler_grpo.reward.policy import DEFAULT_TIMEOUT_S, VerifierPolicy
from deepscaler_grpo.reward.sandbox import get_pool, pool_for, shutdown
from deepscaler_grpo.reward.scoring import (
    AccuracyReward,
    accuracy_reward,
    compute_score,
    format_reward,
    make_reward_funcs,
    score_batch,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "AccuracyReward",
    "GroundTruth",
    "Verdict",
    "VerifierPolicy",
    "accuracy_reward",
    "check",
    "check_many",
    "compute_score",
    "extract_answer",
    "format_reward",
    "get_pool",
    "gold_strings",
    "has_answer_tag",
    "make_reward_funcs",
    "pool_for",
    "score_batch",
    "shutdown",
    "verify",
]
