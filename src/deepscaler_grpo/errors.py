"""The one error convention of every ``deepscaler-grpo`` command.

* :class:`UserError` (and each stage's subclass: DataError, ConfigError, TrainError, EvalError, ...) is input
  the user can fix; its message says how. Commands print it as one line (no traceback) and exit with
  :data:`EXIT_USAGE` (2), like argparse does for bad arguments.
* A run that started and then failed (a crash, a demo that did not reach its bar) exits with :data:`EXIT_FAILED` (1).

    from deepscaler_grpo.errors import UserError, report_error
    except UserError as exc:
        return report_error("train", exc)
"""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


class UserError(Exception):
    """Bad arguments, config, paths or data; the message names the fix."""


class ModelLoadError(UserError):
    """A model, adapter or tokenizer that cannot be loaded; the message says what to pass instead. Here rather than in
    ``models`` so that ``gguf`` (which ``models`` imports) can raise its subclass."""


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, which it stands in for
    """SIGTERM (a scheduler's preemption, ``kill``) raised as an exception, so a run ends like it does on Ctrl-C."""


def first_process() -> bool:
    """True outside a launcher and on each machine's first process under one (local rank 0): the process that
    speaks for the run in that machine's terminal."""
    import os

    return os.environ.get("LOCAL_RANK", "0") in ("0", "")


def report_error(command: str, exc: BaseException) -> int:
    """Print ``deepscaler-grpo COMMAND: error: MESSAGE`` to stderr (once per run: rank 0 of several processes);
    returns :data:`EXIT_USAGE`."""
    if first_process():
        print(f"deepscaler-grpo {command}: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def report_interrupt(command: str, detail: str = "") -> int:
    """One line for Ctrl-C or SIGTERM instead of a traceback; returns :data:`EXIT_INTERRUPTED`."""
    if first_process():
        print(f"deepscaler-grpo {command}: interrupted{'; ' + detail if detail else ''}", file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises :class:`Interrupted` in the main thread (a clean, reported stop)."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise Interrupted("SIGTERM")

    signal.signal(signal.SIGTERM, handler)
