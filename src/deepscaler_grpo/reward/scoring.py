"""Rewards from whole responses: verl's ``compute_score``, ``score_batch`` and the TRL reward functions.

Each extracts the answer (``extract``), grades it (``checking``) and reports {score, acc, pred, format, method}.
Every entry point takes a ``VerifierPolicy`` (None: ``VerifierPolicy.from_env()``) and the question, which
is where the order a question asks for comes from: ``question=`` / ``questions=``; verl's ``extra_info``
(``question`` or ``problem``); TRL's dataset column ``problem``, else its ``prompts`` (last user message).

    from deepscaler_grpo.reward import compute_score, make_reward_funcs, VerifierPolicy
    compute_score("math", "... <answer>\\\\dfrac{3}{4}</answer>", "0.75")["score"]   # 1.0
    compute_score("math", response, gold, extra_info={"question": q}, decimal_digits=0)   # verl kwargs
    funcs, weights = make_reward_funcs(format_weight=0.1, policy=VerifierPolicy.strict())   # trl.GRPOTrainer
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepscaler_grpo.reward.checking import (  # noqa: F401 - re-exported: verl points at this module
    GroundTruth,
    Verdict,
    check,
    check_many,
    gold_strings,
    symbolic_check,
    verify,
)
from deepscaler_grpo.reward.extract import extract_answer, has_answer_tag
from deepscaler_grpo.reward.policy import DEFAULT_TIMEOUT_S, VerifierPolicy, resolve

POLICY_FIELDS = frozenset(f.name for f in dataclasses.fields(VerifierPolicy))
QUESTION_KEYS = ("question", "problem", "prompt")


def _score_dict(solution_str: Any, pred: str | None, verdict: Verdict) -> dict[str, Any]:
    return {
        "score": float(verdict.correct),
        "acc": verdict.correct,
        "pred": pred,
        "format": isinstance(solution_str, str) and has_answer_tag(solution_str),
        "method": verdict.method,
    }


def _extract(solution: Any, boxed_fallback: bool) -> str | None:
    try:
        return extract_answer(solution, boxed_fallback) if isinstance(solution, str) else None
    except Exception:  # noqa: BLE001 - no response may crash a reward
        return None


def prompt_text(prompt: Any) -> str | None:
    """The question in a prompt: a string, or the last user message of a chat (str or text parts)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and prompt:
        users = [m for m in prompt if isinstance(m, Mapping) and m.get("role", "user") == "user"]
        return completion_text(users[-1:]) or None if users else None
    return None


def question_of(extra_info: Any, kwargs: Mapping[str, Any]) -> str | None:
    """``question=`` or verl's ``extra_info['question' | 'problem' | 'prompt']``, else None."""
    if kwargs.get("question") is not None:
        return prompt_text(kwargs["question"])
    if isinstance(extra_info, Mapping):
        for key in QUESTION_KEYS:
            if extra_info.get(key) is not None:
                return prompt_text(extra_info[key])
    return None


def policy_from_kwargs(kwargs: Mapping[str, Any]) -> VerifierPolicy:
    """``policy=`` (a VerifierPolicy or its ``as_dict()``), else ``from_env()``, with any policy field given as
    its own kwarg (``decimal_digits=0``, ``timeout_s=2``) on top: verl passes ``reward_kwargs`` this way."""
    base = kwargs.get("policy")
    policy = VerifierPolicy(**base) if isinstance(base, Mapping) else resolve(base)
    fields = {k: v for k, v in kwargs.items() if k in POLICY_FIELDS}
    return dataclasses.replace(policy, **fields) if fields else policy


def compute_score(
    data_source: Any, solution_str: str, ground_truth: GroundTruth, extra_info: Any = None, **kwargs: Any
) -> dict[str, Any]:
    """verl ``custom_reward_function`` entry: {score, acc, pred, format, method}.

    Optional kwargs: ``boxed_fallback`` (default True), ``policy`` and any ``VerifierPolicy`` field
    (``timeout_s``, ``decimal_digits``, ...), ``question`` (else read from ``extra_info``).
    """
    policy = policy_from_kwargs(kwargs)
    pred = _extract(solution_str, kwargs.get("boxed_fallback", True))
    verdict = check(pred, ground_truth, policy=policy, question=question_of(extra_info, kwargs))
    return _score_dict(solution_str, pred, verdict)


def score_batch(
    solutions: Sequence[str], ground_truths: Sequence[GroundTruth], boxed_fallback: bool = True,
    timeout_s: float | None = None, *, policy: VerifierPolicy | None = None,
    questions: Sequence[str | None] | None = None,
) -> list[dict[str, Any]]:
    """``compute_score`` for a batch, symbolic checks in parallel; ``questions[i]`` is solution i's problem."""
    preds = [_extract(s, boxed_fallback) for s in solutions]
    verdicts = check_many(preds, ground_truths, timeout_s, policy=policy, questions=questions)
    return [_score_dict(s, p, v) for s, p, v in zip(solutions, preds, verdicts)]


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string, or the last chat message's content (str or text parts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)) and completion:
        content = completion[-1].get("content", "") if isinstance(completion[-1], dict) else completion[-1]
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else ""
    return ""


def _ground_truths(answer: Sequence[Any] | None, n: int, kwargs: dict[str, Any]) -> list[Any]:
    """Per-row accepted answers by the project's row contract (TRL passes the dataset columns as lists)."""
    from deepscaler_grpo.problems import accepted_answers, ground_truth

    columns = {"answer": answer, "reward_model": kwargs.get("reward_model")}
    rows = [{key: values[i] for key, values in columns.items() if values is not None} for i in range(n)]
    return [ground_truth(found) if (found := accepted_answers(row)) else None for row in rows]


def _questions(n: int, kwargs: dict[str, Any]) -> list[str | None]:
    """Per-row problem text: TRL's ``problem`` column (no instruction around it), else its ``prompts``."""
    for key in ("problem", "prompts"):
        column = kwargs.get(key)
        if isinstance(column, Sequence) and not isinstance(column, str) and len(column) == n:
            return [prompt_text(item) for item in column]
    return [None] * n


def accuracy_reward(
    completions: Sequence[Any], answer: Sequence[Any] | None = None, boxed_fallback: bool = True,
    timeout_s: float | None = None, policy: VerifierPolicy | None = None, **kwargs: Any,
) -> list[float]:
    """TRL reward function: 1.0 when the extracted answer matches the row's ground truth."""
    texts = [completion_text(c) for c in completions]
    truths = _ground_truths(answer, len(texts), kwargs)
    results = score_batch(texts, truths, boxed_fallback, timeout_s, policy=policy,
                          questions=_questions(len(texts), kwargs))
    return [r["score"] for r in results]


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """TRL reward function: 1.0 when the completion has a non-empty ``<answer>`` tag."""
    return [float(has_answer_tag(completion_text(c))) for c in completions]


@dataclass(frozen=True)
class AccuracyReward:
    """Picklable configured ``accuracy_reward`` holding its ``VerifierPolicy`` (TRL logs it as
    rewards/accuracy_reward). ``timeout_s`` (older keyword) overrides the policy's; both resolve at construction."""

    boxed_fallback: bool = True
    timeout_s: float | None = None
    policy: VerifierPolicy = field(default=None)  # type: ignore[assignment]  # None: from_env(), resolved below
    __name__ = "accuracy_reward"

    def __post_init__(self) -> None:
        policy = resolve(self.policy, self.timeout_s)
        object.__setattr__(self, "policy", policy)
        object.__setattr__(self, "timeout_s", policy.timeout_s)

    def __call__(self, completions: Sequence[Any], answer: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
        for key in ("boxed_fallback", "timeout_s", "policy"):
            kwargs.pop(key, None)
        return accuracy_reward(completions, answer, self.boxed_fallback, policy=self.policy, **kwargs)


def make_reward_funcs(
    format_weight: float = 0.0, boxed_fallback: bool = True, timeout_s: float | None = None,
    policy: VerifierPolicy | None = None,
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """(reward_funcs, reward_weights) for ``trl.GRPOTrainer``: accuracy (1.0) and format (``format_weight``).

    ``policy``: the verifier's settings (None: ``VerifierPolicy.from_env()``); ``timeout_s`` overrides its
    timeout. The format reward is always returned so TRL logs the format rate, even at weight 0.
    """
    if timeout_s is not None and timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    return [AccuracyReward(boxed_fallback, timeout_s, policy), format_reward], [1.0, float(format_weight)]


__all__ = [
    "DEFAULT_TIMEOUT_S", "AccuracyReward", "GroundTruth", "Verdict", "accuracy_reward", "check", "check_many",
    "completion_text", "compute_score", "format_reward", "gold_strings", "make_reward_funcs", "score_batch",
    "symbolic_check", "verify",
]
