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


class UserError(Exception):
    """Bad arguments, config, paths or data; the message names the fix."""


def report_error(command: str, exc: BaseException) -> int:
    """Print ``deepscaler-grpo COMMAND: error: MESSAGE`` to stderr; returns :data:`EXIT_USAGE`."""
    print(f"deepscaler-grpo {command}: error: {exc}", file=sys.stderr)
    return EXIT_USAGE
