"""Console output that reads well both in a terminal and in a log file.

In a terminal: progress bars and rich tables at the terminal's width. Piped or redirected (a scheduler's
log, ``| tee``): no bars, no carriage returns or cursor codes, tables 120 columns wide instead of 80.

    from deepscaler_grpo.console import interactive, make_console
    make_console().print(table)
"""

from __future__ import annotations

import sys
from typing import Any


def interactive(stream: Any = None) -> bool:
    """True when ``stream`` (default stderr, where bars go) is a terminal."""
    stream = stream if stream is not None else sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def make_console(**kwargs: Any) -> Any:
    """A rich Console; outside a terminal it is wide (paths are not cut at 80 columns) and writes no control codes."""
    from rich.console import Console

    if not interactive(sys.stdout):
        kwargs.setdefault("width", 120)
        kwargs.setdefault("no_color", True)
    return Console(**kwargs)


def quiet_library_bars() -> None:
    """Outside a terminal, turn off transformers' and huggingface_hub's own progress bars (``Loading weights``):
    in a log file they are carriage-return noise."""
    if interactive():
        return
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    disable_progress_bars()
