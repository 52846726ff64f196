"""The answer verifier: extraction, exact fast paths, sandboxed symbolic grading, reward functions.

    from deepscaler_grpo.reward import extract_answer, verify, compute_score, make_reward_funcs
    verify("\\\\dfrac{3}{4}", "0.75")                       # True (exact, no float tolerance)
    compute_score("math", "<answer>142</answer>", 142.0)  # {'score': 1.0, 'acc': True, 'pred': '142', ...}

verl: point ``custom_reward_function.path`` at this package's ``scoring.py`` (function
``compute_score``). TRL: ``reward_funcs, reward_weights = make_reward_funcs(format_weight=0.1)``.
CLI: ``deepscaler-grpo score INPUT.jsonl`` (see ``deepscaler_grpo.reward.cli``).
"""

from deepscaler_grpo.reward.decimals import decimal_digits, set_decimal_digits
from deepscaler_grpo.reward.extract import extract_answer, has_answer_tag
from deepscaler_grpo.reward.sandbox import get_pool, shutdown
from deepscaler_grpo.reward.scoring import (
    DEFAULT_TIMEOUT_S,
    AccuracyReward,
    GroundTruth,
    Verdict,
    accuracy_reward,
    check,
    check_many,
    compute_score,
    format_reward,
    gold_strings,
    make_reward_funcs,
    score_batch,
    verify,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "AccuracyReward",
    "GroundTruth",
    "Verdict",
    "accuracy_reward",
    "check",
    "check_many",
    "compute_score",
    "decimal_digits",
    "extract_answer",
    "format_reward",
    "get_pool",
    "gold_strings",
    "has_answer_tag",
    "make_reward_funcs",
    "score_batch",
    "set_decimal_digits",
    "shutdown",
    "verify",
]
