"""Shared fixtures: the real data folder (skip when absent) and a tiny local Qwen3 model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
