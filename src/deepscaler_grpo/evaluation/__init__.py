"""Evaluation: generate, verify, pass@k. ``deepscaler-grpo eval`` is :mod:`.cli`.

Modules: ``metrics`` (pass@k, scoring), ``benchmarks`` (``--benchmarks`` specs -> problems, through ``deepscaler_grpo.problems``), ``run`` (evaluate,
run_eval, outputs), ``cli``. Generation (HF and vLLM behind one interface) is ``deepscaler_grpo.generation``.
Training's validation and the demo use :func:`evaluate_model` / :func:`evaluate`.

    from deepscaler_grpo.evaluation import EvalConfig, evaluate_model, run_eval
"""

from __future__ import annotations

from deepscaler_grpo.evaluation.metrics import EvalResult, pass_at_k, score_responses
from deepscaler_grpo.evaluation.run import EvalConfig, EvalError, evaluate, evaluate_model, response_lines, run_eval

__all__ = [
    "EvalConfig", "EvalError", "EvalResult", "evaluate", "evaluate_model",
    "pass_at_k", "response_lines", "run_eval", "score_responses",
]
