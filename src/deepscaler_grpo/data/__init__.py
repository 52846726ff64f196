"""Data preparation: ``deepscaler-grpo prepare`` turns raw math problems into training-ready parquet.

    deepscaler-grpo prepare --source ../shared/data/deepscaler/train_math.json --output-dir data/deepscaler
    python -m deepscaler_grpo.data --help

Public API (see ``records``): ``DEFAULT_INSTRUCTION``, ``make_prompt``, ``normalize_answer``,
``load_records``, ``DataError``; the CLI is ``deepscaler_grpo.data.cli``. Modules: ``records`` (sources, answers, prompts),
``clean`` (dedup keys, n-gram decontamination, MinHash, answer classes), ``evalsets`` (AIME/AMC/MATH500
with local fallback), ``pipeline`` (the steps), ``output`` (schema, atomic writes, report), ``prepare`` (``run_prepare``), ``cli``.

Output parquet columns: ``problem`` (str), ``answer`` (str), ``solution`` (str, "" when absent),
``prompt`` (list of {role, content}), ``data_source`` (str: source file stem or dataset name),
``ability`` ("math"), ``reward_model`` {style: "rule", ground_truth}, ``extra_info`` {index, split}.

List answers (several accepted answers, e.g. Minerva's ["0.01", "0.02"]): ``answer`` holds the first;
``reward_model.ground_truth`` holds them all as list[str]. A parquet column has one type, so
``ground_truth`` is a plain string in every row when no row of the prepared output (train and val
together) has several answers, and list[str] in every row of both files otherwise (one element for
ordinary rows); ``prepare_report.json`` says which (``ground_truth_type``). Read back with pandas a list
is a numpy array; the reward accepts str, list and numpy arrays alike.
"""

from __future__ import annotations

from deepscaler_grpo.data.records import (
    DEFAULT_INSTRUCTION,
    DataError,
    load_records,
    make_prompt,
    normalize_answer,
)

__all__ = ["DEFAULT_INSTRUCTION", "DataError", "load_records", "make_prompt", "normalize_answer"]
