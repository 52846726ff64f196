"""deepscaler_grpo.compat: every third-party private name we rely on still exists (an upgrade fails here, with the
list), the version check, and the patches that apply only where they are needed."""

from __future__ import annotations

import importlib.util
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


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed (see README: CPU tests)")
def test_single_adapter_cpu_lora_ops_match_vllms_definition() -> None:
    """The fast path is one matmul where every token uses the same adapter slot; mixed slots go to vLLM's own op.
    Both are checked against the definition vLLM's CPU ops implement: a per-token gather, then a batched product."""
    from vllm.lora.ops.torch_ops import lora_ops

    def reference(inputs: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bi, boi -> bo", inputs, weights[indices].squeeze(1))

    gen = torch.Generator().manual_seed(0)
    weights = torch.randn(3, 1, 16, 48, generator=gen)  # 3 adapter slots, rank 16, hidden 48 (shrink: in=48)
    expand_w = torch.randn(3, 1, 48, 16, generator=gen)  # expand: rank 16 -> 48
    inputs, small = torch.randn(10, 48, generator=gen), torch.randn(10, 16, generator=gen)
    shrink = compat._fast_shrink(lora_ops.bgmv_shrink)
    expand = compat._fast_expand(lora_ops.bgmv_expand)
    expand_slice = compat._fast_expand_slice(lora_ops.bgmv_expand_slice)
    for indices in (torch.full((10,), 2), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])):  # one slot; mixed slots
        out = torch.zeros(10, 16)
        shrink(inputs, weights, out, indices, 0.5)
        assert torch.allclose(out, 0.5 * reference(inputs, weights, indices), atol=1e-5)
        base = torch.randn(10, 48, generator=gen)
        added = base.clone()
        expand(small, expand_w, added, indices, True)
        assert torch.allclose(added, base + reference(small, expand_w, indices), atol=1e-5)
        wide = torch.zeros(10, 100)
        expand_slice(small, expand_w, wide, indices, 20, 48, False)
        assert torch.allclose(wide[:, 20:68], reference(small, expand_w, indices), atol=1e-5)
        assert not wide[:, :20].any() and not wide[:, 68:].any()
