"""The ``deepscaler-grpo`` command: a thin dispatcher to one module per pipeline stage.

Each stage module exposes ``main(argv: list[str] | None) -> int`` with its own argparse parser, so
``deepscaler-grpo --help`` stays instant (no torch import) and every stage also runs as
``python -m deepscaler_grpo.<module>``.

    deepscaler-grpo prepare --help
    deepscaler-grpo train data.train_batch_size=8 trainer.total_training_steps=2
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    module: str
    help: str


def commands() -> dict[str, Command]:
    """The sub-commands, in pipeline order."""
    return {
        "prepare": Command("deepscaler_grpo.data.cli", "prepare the dataset into train/val parquet"),
        "score": Command("deepscaler_grpo.reward.cli", "score responses in a JSONL file with the verifier"),
        "train": Command("deepscaler_grpo.training.run", "GRPO training with LoRA (verl-style key=value overrides)"),
        "eval": Command("deepscaler_grpo.evaluation.cli", "pass@k evaluation with 95% intervals on AIME/MATH500-style sets"),
        "compare": Command("deepscaler_grpo.evaluation.compare_cli", "paired comparison of two evaluations (B - A, p-value)"),
        "plot": Command("deepscaler_grpo.tools.plot", "PNG charts from a run's metrics.jsonl"),
        "export": Command("deepscaler_grpo.tools.export", "merge a LoRA adapter into its base model"),
        "demo": Command("deepscaler_grpo.demo.pipeline", "the whole pipeline on a tiny model, on CPU, in minutes"),
    }


def usage() -> str:
    lines = ["usage: deepscaler-grpo <command> [options]", "", "commands:"]
    lines += [f"  {name:<9} {cmd.help}" for name, cmd in commands().items()]
    lines += ["", "Run 'deepscaler-grpo <command> --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # a bare command is a usage error, like argparse's
        print(usage(), file=sys.stderr)
        return 2
    if argv[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    if argv[0] == "--version":
        from deepscaler_grpo import __version__

        print(__version__)
        return 0
    table = commands()
    if argv[0] not in table:
        print(f"deepscaler-grpo: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    from deepscaler_grpo.errors import Interrupted, raise_on_sigterm, report_interrupt

    raise_on_sigterm()
    try:
        module = importlib.import_module(table[argv[0]].module)
        return int(module.main(argv[1:]) or 0)
    except (KeyboardInterrupt, Interrupted):  # a command without its own handling: one line, no traceback
        return report_interrupt(argv[0])


if __name__ == "__main__":
    sys.exit(main())
