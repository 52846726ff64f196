"""deepscaler-grpo eval: the CLI end to end, its errors, the vLLM wiring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deepscaler_grpo.evaluation import cli as ev
from deepscaler_grpo.generation import base as generation_base
from deepscaler_grpo.generation import vllm as generation_vllm


@pytest.mark.slow
def test_eval_cli_end_to_end(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "mini.json"
    bench.write_text(json.dumps([{"problem": f"What is {i} + 1?", "answer": i + 1.0} for i in range(3)]))
    out = tmp_path / "out"
    argv = ["--model", str(tiny_model_dir), "--benchmarks", f"mini={bench},other={bench}", "--n", "4",
            "--temperature", "0.7", "--max-tokens", "6", "--output-dir", str(out), "--no-progress", "--limit", "2"]
    assert ev.main(argv) == 0
    assert "mini" in capsys.readouterr().out and set(summary_names(out)) == {"mini", "other"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["model"] == str(tiny_model_dir) and summary["run"]["n"] == 4
    assert summary["run"]["backend"] == "hf" and summary["run"]["temperature"] == 0.7
    for name in ("mini", "other"):
        lines = [json.loads(x) for x in (out / f"{name}.jsonl").read_text().splitlines()]
        stats = summary["benchmarks"][name]
        assert len(lines) == stats["num_samples"] == 8 and stats["num_problems"] == 2
        assert {(x["index"], x["sample"]) for x in lines} == {(i, j) for i in range(2) for j in range(4)}
        assert lines[0]["answer"] == "1" and set(lines[0]) >= {"response", "pred", "score", "acc", "format"}
        assert stats["pass@1"] == pytest.approx(sum(x["acc"] for x in lines) / 8)
        assert stats["format_rate"] == pytest.approx(sum(x["format"] for x in lines) / 8)
        assert set(stats) >= {"pass@1", "pass@2", "pass@4", "format_rate"}
    assert not list(out.glob(".*tmp"))  # atomic writes leave no temp files


def summary_names(out: Path) -> list[str]:
    return list(json.loads((out / "summary.json").read_text())["benchmarks"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "./no/such/model"], "model folder ./no/such/model does not exist"),
        (["--adapter", "./no/adapter"], "adapter not found"),
        (["--n", "0"], "--n must be >= 1"),
        (["--backend", "vllm"], "needs vLLM"),
        (["--benchmarks", "x/b.jsonl,y/b.jsonl"], "two benchmarks share a name"),
    ],
)
def test_eval_cli_errors(
    extra: list[str], message: str, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"problem": "1+1", "answer": "2"}) + "\n")
    argv = ["--model", str(tiny_model_dir), "--benchmarks", str(bench), "--output-dir", str(tmp_path), *extra]
    if generation_vllm.vllm_installed() and "vllm" in extra:
        message = "vLLM's CPU backend supports attention head sizes"  # installed, but head_dim 16 has no CPU kernel
    assert ev.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "summary.json").exists()


def fake_vllm(monkeypatch: pytest.MonkeyPatch, tokenizer: Any) -> dict:
    """Stand-in ``vllm`` modules (a "GPU" platform) recording how the engine is built and called."""
    import sys
    import types

    calls: dict = {"engines": [], "generates": []}

    class LLM:
        def __init__(self, **kwargs):
            calls["engines"].append(kwargs)

        def get_tokenizer(self):
            return tokenizer

        def generate(self, prompts, params, lora_request=None, use_tqdm=True):
            calls["generates"].append((prompts, params, lora_request))
            sample = types.SimpleNamespace(text="so <answer>2</answer>")
            return [types.SimpleNamespace(outputs=[sample] * params["n"]) for _ in prompts]

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, lambda **kw: kw
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, idx, path: ("lora", name, idx, path)
    platforms = types.ModuleType("vllm.platforms")
    platforms.current_platform = types.SimpleNamespace(device_type="cuda")
    modules = {"vllm": vllm, "vllm.lora": types.ModuleType("vllm.lora"), "vllm.lora.request": request,
               "vllm.platforms": platforms}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(generation_vllm, "vllm_installed", lambda: True)
    return calls


def test_eval_cli_vllm_backend_wiring(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoTokenizer

    from deepscaler_grpo.models import render_prompts

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    calls = fake_vllm(monkeypatch, tokenizer)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 32}))
    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps({"problem": f"{i}+2-{i}", "answer": 2}) + "\n" for i in range(3)))
    argv = ["--model", "org/model", "--adapter", str(adapter), "--benchmarks", f"a={bench},b={bench}", "--n", "4",
            "--temperature", "0.6", "--max-tokens", "100", "--seed", "7", "--output-dir", str(tmp_path / "out")]
    assert ev.main(argv) == 0
    (engine,) = calls["engines"]  # one engine for all benchmarks
    assert engine["model"] == "org/model" and engine["enable_lora"] and engine["max_lora_rank"] == 32
    assert engine["max_model_len"] == 100 + 2048 and engine["dtype"] == "bfloat16"  # a GPU: as HF's auto
    prompts, params, lora = calls["generates"][0]
    stops = generation_base.stop_token_ids(tokenizer)
    assert params == {"n": 4, "temperature": 0.6, "top_p": 1.0, "max_tokens": 100, "seed": 7, "stop_token_ids": stops}
    # prompts are token ids rendered exactly as the HF backend renders them
    rendered = render_prompts(tokenizer, [[{"role": "user", "content": "0+2-0"}]])
    assert lora == ("lora", "adapter", 1, str(adapter))
    assert prompts[0]["prompt_token_ids"][-3:] == tokenizer(rendered, add_special_tokens=False)["input_ids"][0][-3:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["run"]["backend"] == "vllm" and summary["benchmarks"]["b"]["pass@4"] == 1.0




def test_k_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert ev.parse_k_values("1, 8,16") == (1, 8, 16)
    with pytest.raises(SystemExit):
        ev.build_parser().parse_args(["--model", "m", "--benchmarks", "b", "--k", "1,x"])
    assert "comma-separated integers" in capsys.readouterr().err
