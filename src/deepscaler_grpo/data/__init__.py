"""Data preparation: ``deepscaler-grpo prepare`` turns raw math problems into training-ready parquet.

    deepscaler-grpo prepare --source ../shared/data/deepscaler/train_math.json --output-dir data/deepscaler
    python -m deepscaler_grpo.data --help

Public API (see ``records``): ``DEFAULT_INSTRUCTION``, ``make_prompt``, ``normalize_answer``,
``load_records``, ``DataError``; ``main`` is the CLI.
"""

from __future__ import annotations

from deepscaler_grpo.data.records import (
    DEFAULT_INSTRUCTION,
    DataError,
    load_records,
    make_prompt,
    normalize_answer,
)

__all__ = ["DEFAULT_INSTRUCTION", "DataError", "load_records", "make_prompt", "normalize_answer", "main"]


def main(argv: list[str] | None = None) -> int:
    """``deepscaler-grpo prepare`` (imported lazily so the API import stays light)."""
    from deepscaler_grpo.data.prepare import main as prepare_main

    return prepare_main(argv)
