"""Test-only hook for tests/training/test_multiprocess.py and test_vllm_sync.py, loaded by every Python process
whose PYTHONPATH starts with this folder (the launcher and each rank of a run started through the run script).
Active only when $DSG_TEST_HOOK_DIR is set; then, once the package modules are imported (nothing is imported
before). Rewards are not patched: the tests pass ``custom_reward_function.path`` like a user.

* with $DSG_TEST_WARM_POOL set, each rank starts its verifier pool before training and writes the worker pids to
  ``workers{R}.json``;
* ``deepscaler_grpo.training.validation._shard_accuracy`` records how many problems this rank validated each time;
* ``vllm.LLM`` constructions are counted (engines this rank started);
* at the end of ``DeepscalerGRPOTrainer.train`` each rank saves its trainable weights to
  ``$DSG_TEST_HOOK_DIR/rank{R}.safetensors`` and ``rank{R}.json`` (its verifier pool size, LOCAL_WORLD_SIZE,
  validation shard sizes and vLLM engines started so far).
"""

from __future__ import annotations

import importlib.abc
import json
import os
import sys
from pathlib import Path
from typing import Any

HOOK_DIR = os.environ.get("DSG_TEST_HOOK_DIR")
VAL_SHARDS: list[int] = []
ENGINES: dict[str, int] = {}  # "started": vLLM engines this rank started (only once vLLM is imported)


def _count_engines(module: Any) -> None:
    original = module.LLM.__init__
    ENGINES["started"] = 0

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        ENGINES["started"] += 1
        original(self, *args, **kwargs)

    module.LLM.__init__ = init


def _patch_validation(module: Any) -> None:
    original = module._shard_accuracy

    def shard_accuracy(model: Any, tokenizer: Any, shard: list, *args: Any, **kwargs: Any) -> float:
        VAL_SHARDS.append(len(shard))
        return original(model, tokenizer, shard, *args, **kwargs)

    module._shard_accuracy = shard_accuracy


def _patch_trainer(module: Any) -> None:
    cls = module.DeepscalerGRPOTrainer
    original = cls.train

    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        if os.environ.get("DSG_TEST_WARM_POOL"):  # start the verifier's workers now and say which they are
            from deepscaler_grpo.reward import get_pool

            pool = get_pool()
            pool.warm_up()
            Path(HOOK_DIR, f"workers{self.accelerator.process_index}.json").write_text(json.dumps(pool.worker_pids()))
        out = original(self, *args, **kwargs)
        from safetensors.torch import save_file

        from deepscaler_grpo.reward.sandbox import default_pool_size

        rank = self.accelerator.process_index
        model = self.accelerator.unwrap_model(self.model)
        weights = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
        save_file(weights, str(Path(HOOK_DIR, f"rank{rank}.safetensors")))
        info = {"pool_size": default_pool_size(), "local_world_size": os.environ.get("LOCAL_WORLD_SIZE"),
                "val_shards": VAL_SHARDS, **({"engines_started": ENGINES["started"]} if ENGINES else {})}
        Path(HOOK_DIR, f"rank{rank}.json").write_text(json.dumps(info))
        return out

    cls.train = train


PATCHES = {"deepscaler_grpo.training.trainer": _patch_trainer,
           "deepscaler_grpo.training.validation": _patch_validation,
           "vllm.entrypoints.llm": _count_engines}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds the module with the other finders, then applies its patch right after it executes."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        patch = PATCHES.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else getattr(finder, "find_spec", lambda *a: None)(name, path, target)
            if spec is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def run(module: Any) -> None:
            exec_module(module)
            patch(module)

        spec.loader.exec_module = run
        return spec


if HOOK_DIR:
    sys.meta_path.insert(0, _PatchAfterImport())
