"""SmolLM2-135M-Instruct with vLLM (CPU build in CI): 2 GRPO steps with vLLM rollouts and adapter-only sync, the
chat template's token ids as TRL, our generation layer and the engine render them, the engine stopping at
``<|im_end|>``, eval's vLLM and HF backends agreeing on the trained adapter, and the exported merged model giving
vLLM the same greedy text as base + adapter. Skipped without vLLM or without the wheel (the reason is printed).

Engines start in subprocesses (tests/training/vllm_train_run.py, the eval CLI), one per process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.generation.vllm import vllm_installed
from deepscaler_grpo.io import read_jsonl
from tests.helpers import REAL_MODEL_PROBLEMS, eval_cli, real_model_overrides, run_vllm_train

pytestmark = [pytest.mark.real_model, pytest.mark.slow,
              pytest.mark.skipif(not vllm_installed(), reason="vLLM is not installed (see README: CPU tests)")]


@pytest.fixture(scope="module")
def vllm_run(smollm2_file: Path, smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """2 steps with vLLM rollouts, the model given as the wheel (its dequantized folder reaches the engine)."""
    tmp = tmp_path_factory.mktemp("real-vllm")
    rows = [{"problem": p, "answer": a, "prompt": [{"role": "user", "content": f"{p} Answer in <answer></answer>."}]}
            for p, a in REAL_MODEL_PROBLEMS]
    (tmp / "data").mkdir()
    pd.DataFrame(rows).to_parquet(tmp / "data" / "train.parquet")
    pd.DataFrame(rows[:4]).to_parquet(tmp / "data" / "val.parquet")
    report = tmp / "report.json"
    args = real_model_overrides(smollm2_file, tmp / "data", tmp / "run", "actor_rollout_ref.rollout.name=vllm")
    proc = run_vllm_train(["--report", str(report), *args], timeout=600)
    return {"run": tmp / "run", "data": tmp / "data", "report": json.loads(report.read_text()),
            "out": proc.stdout + proc.stderr}


def test_vllm_rollouts_train_the_real_models_adapter(vllm_run: dict[str, Any], smollm2_dir: Path) -> None:
    report, out = vllm_run["report"], vllm_run["out"]
    assert "rollouts: vLLM on cpu" in out and "generating with transformers" not in out
    assert report["lora_changed"] and report["base_unchanged"] and report["sync_version"] >= 3
    assert report["vllm"] == report["hf"] and any(report["vllm"])  # synced adapter: engine == HF + PEFT, greedy
    rows = read_jsonl(vllm_run["run"] / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["training/rollout_probs_diff_mean"] < 1e-4 for r in rows)  # fp32 engine and trainer
    assert all(0 < r["perf/weight_sync_mb"] < 20 for r in rows)  # the r=8 adapter (~4.6 MiB), not 540 MB of weights


def test_trl_our_generation_layer_and_the_engine_render_the_same_ids(vllm_run: dict[str, Any]) -> None:
    template = vllm_run["report"]["template"]
    assert template["trl"] == template["ours"] == template["engine"]
    assert all(len(ids) > 30 for ids in template["ours"])  # SmolLM2's default system turn is in all of them


def test_the_engine_stops_at_im_end(vllm_run: dict[str, Any]) -> None:
    stop = vllm_run["report"]["stop"]
    assert stop["stop_ids"] == [2]  # <|im_end|>, SmolLM2's end of turn (also its eos)
    assert stop["finish_reason"] == "stop" and len(stop["token_ids"]) < stop["max_tokens"]
    assert stop["token_ids"][-1] == 2 and "<|im_end|>" not in stop["text"] and stop["text"].startswith("17 + 25")


@pytest.fixture(scope="module")
def exported(vllm_run: dict[str, Any], smollm2_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real-export") / "merged"
    adapter = vllm_run["run"] / "global_step_2" / "adapter"
    assert cli_main(["export", "--base", str(smollm2_file), "--adapter", str(adapter), "--output-dir", str(out)]) == 0
    return out


def test_eval_backends_and_the_merged_model_agree(vllm_run: dict[str, Any], exported: Path, smollm2_file: Path,
                                                  tmp_path: Path) -> None:
    adapter = vllm_run["run"] / "global_step_2" / "adapter"
    bench = vllm_run["data"] / "train.parquet"
    hf = eval_cli(smollm2_file, adapter, bench, tmp_path / "hf", "hf")
    vllm = eval_cli(smollm2_file, adapter, bench, tmp_path / "vllm", "vllm")
    merged = eval_cli(exported, None, bench, tmp_path / "merged", "vllm")
    responses = [r["response"] for r in hf]
    assert len(responses) == 8 and all(responses)
    assert [r["response"] for r in vllm] == responses  # eval: vLLM + LoRA == HF + PEFT, greedy
    assert [r["response"] for r in merged] == responses  # the merged export under vLLM == base + adapter
