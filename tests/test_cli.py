from __future__ import annotations

import subprocess
import sys

from deepscaler_grpo.cli import commands, main


def test_help_lists_every_stage(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("prepare", "score", "train", "eval", "plot", "export", "demo"):
        assert f"  {name} " in out


def test_unknown_command_fails_with_usage(capsys) -> None:
    assert main(["trian"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'trian'" in err and "usage: deepscaler-grpo" in err


def test_every_command_module_has_main() -> None:
    import importlib

    for cmd in commands().values():
        assert callable(importlib.import_module(cmd.module).main), cmd.module


def test_console_script_installed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "deepscaler_grpo.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "0.1.0"


def test_bare_command_is_a_usage_error(capsys) -> None:
    assert main([]) == 2
    assert "usage: deepscaler-grpo" in capsys.readouterr().err
