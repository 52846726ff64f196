"""deepscaler_grpo.compat: every third-party private name we rely on still exists (an upgrade fails here, with the
list), the version check, and the patches that apply only where they are needed."""

from __future__ import annotations

import io

import pytest
import torch

from deepscaler_grpo import compat


def test_every_private_name_we_rely_on_exists() -> None:
    missing = compat.missing_private_names()
    assert missing == [], "third-party internals moved:\n" + "\n".join(missing)


def test_the_surface_covers_trl_transformers_and_vllm() -> None:
    libraries = {name.library for name in compat.PRIVATE_NAMES}
    assert libraries == {"trl", "transformers", "vllm"}
    assert len(compat.PRIVATE_NAMES) == len({name.obj for name in compat.PRIVATE_NAMES})  # each listed once


def test_a_moved_name_is_reported_with_its_reason() -> None:
    moved = (
        compat.PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._renamed_method", "overridden: something"),
        compat.PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._metrics_renamed", "read: metrics", "instance"),
        compat.PrivateName("trl", "trl.no_such_module:Thing", "called"),
        compat.PrivateName("trl", "trl.trainer.grpo_trainer:GRPOTrainer._metrics", "read", "instance"),
    )
    assert compat.missing_private_names(moved) == [
        "trl.trainer.grpo_trainer:GRPOTrainer._renamed_method (overridden: something)",
        "trl.trainer.grpo_trainer:GRPOTrainer._metrics_renamed (read: metrics)",
        "trl.no_such_module:Thing (called)",
    ]


def test_versions_outside_the_tested_range_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert compat.version_problems() == []  # what CI installs is what we test
    trl = compat.installed_version("trl")
    assert compat.version_problems({"trl": ("9.0", "9.1")}) == [f"trl {trl} (tested: 9.0 to 9.1)"]
    monkeypatch.setattr(compat, "TESTED_VERSIONS", {"trl": ("9.0", "9.1")})
    monkeypatch.delenv("DEEPSCALER_SKIP_VERSION_CHECK", raising=False)
    with pytest.raises(compat.CompatError, match=f"untested library versions: trl {trl}"):
        compat.check_versions()
    monkeypatch.setenv("DEEPSCALER_SKIP_VERSION_CHECK", "1")
    compat.check_versions()


def test_indexed_cpu_locations_load_where_transformers_needs_it() -> None:
    """transformers < 5.18 resumes optimizer state with map_location=args.device, "cpu:0" in a CPU group; the
    loader is registered only there."""
    buffer = io.BytesIO()
    torch.save({"exp_avg": torch.arange(3.0)}, buffer)
    compat.accept_indexed_cpu_location()
    compat.accept_indexed_cpu_location()  # idempotent
    buffer.seek(0)
    if compat.transformers_older_than("5.18"):
        loaded = torch.load(buffer, map_location=torch.device("cpu:0"))
        assert torch.equal(loaded["exp_avg"], torch.arange(3.0))
    tensor = torch.ones(2)
    assert compat._restore_indexed_cpu(tensor, "cpu:1") is tensor and compat._restore_indexed_cpu(tensor, "cuda:0") is None
