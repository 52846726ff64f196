"""Evaluation: generate, verify, pass@k with 95% intervals, paired comparisons. ``deepscaler-grpo eval`` is
:mod:`.cli`, ``deepscaler-grpo compare`` is :mod:`.compare_cli`.

Modules: ``metrics`` (pass@k, scoring), ``intervals`` (the interval and paired-test methods), ``benchmarks``
(``--benchmarks`` specs -> problems), ``setup`` (every check before a model loads), ``context`` (prompt and response
budgets vs the model's context), ``store`` (the crash-safe, resumable output folder), ``provenance`` (what produced
the numbers), ``verdicts`` (strict / training policy / math-verify), ``protocol`` (``--protocol deepscaler``),
``report`` (tables), ``run`` (evaluate, run_eval), ``compare`` (paired comparison of two evaluations).
Generation (HF and vLLM behind one interface) is ``deepscaler_grpo.generation``. Training's validation and the demo
use :func:`evaluate_model` / :func:`evaluate`.

    from deepscaler_grpo.evaluation import EvalConfig, evaluate_model, run_eval
"""

from __future__ import annotations

from deepscaler_grpo.evaluation.metrics import EvalResult, pass_at_k, score_responses
from deepscaler_grpo.evaluation.run import EvalConfig, EvalError, evaluate, evaluate_model, response_lines, run_eval

__all__ = [
    "EvalConfig", "EvalError", "EvalResult", "evaluate", "evaluate_model",
    "pass_at_k", "response_lines", "run_eval", "score_responses",
]
