"""deepscaler-grpo eval: the CLI end to end (intervals, provenance, verdict columns), its errors and the checks made
before any model loads (output folder, context budgets), the vLLM wiring, and --protocol deepscaler at tiny sizes."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from deepscaler_grpo.evaluation import cli as ev
from deepscaler_grpo.evaluation.provenance import sha256_json
from deepscaler_grpo.generation import base as generation_base
from deepscaler_grpo.generation import vllm as generation_vllm
from deepscaler_grpo.io import read_jsonl


def mini_bench(tmp_path: Path, count: int = 3) -> Path:
    bench = tmp_path / "mini.json"
    bench.write_text(json.dumps([{"problem": f"What is {i} + 1?", "answer": i + 1.0} for i in range(count)]))
    return bench


@pytest.mark.slow
def test_eval_cli_end_to_end(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = mini_bench(tmp_path)
    out = tmp_path / "out"
    argv = ["--model", str(tiny_model_dir), "--benchmarks", f"mini={bench},other={bench}", "--n", "4",
            "--temperature", "0.7", "--max-tokens", "6", "--output-dir", str(out), "--no-progress", "--limit", "2"]
    assert ev.main(argv) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["model"] == str(tiny_model_dir) and summary["run"]["n"] == 4
    assert summary["run"]["backend"] == "hf" and summary["run"]["temperature"] == 0.7 and summary["complete"]
    assert set(summary["benchmarks"]) == {"mini", "other"}
    for name in ("mini", "other"):
        lines = read_jsonl(out / f"{name}.jsonl")
        stats = summary["benchmarks"][name]
        assert len(lines) == stats["num_samples"] == 8 and stats["num_problems"] == 2
        assert {(x["index"], x["sample"]) for x in lines} == {(i, j) for i in range(2) for j in range(4)}
        assert lines[0]["answer"] == "1" and set(lines[0]) >= {"response", "pred", "score", "acc", "format"}
        assert stats["pass@1"] == pytest.approx(sum(x["acc"] for x in lines) / 8)
        assert stats["format_rate"] == pytest.approx(sum(x["format"] for x in lines) / 8)
        for key in ("pass@1", "pass@2", "pass@4", "format_rate"):
            assert 0 <= stats[f"{key}_ci_low"] <= stats[key] <= stats[f"{key}_ci_high"] <= 1
            assert stats[f"{key}_ci_high"] - stats[f"{key}_ci_low"] > 0.2  # 2 problems: wide, never [x, x]
        assert len(read_jsonl(out / f"{name}.responses.jsonl")) == 8
    assert not list(out.glob(".*tmp"))  # atomic writes leave no temp files
    # provenance: what produced the numbers, checkable by hand
    prov = summary["provenance"]
    files = sorted(p for p in tiny_model_dir.iterdir() if p.suffix in (".json", ".safetensors", ".jinja"))
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert prov["model"] == {"path": str(tiny_model_dir.resolve()), "sha256": sha256_json(hashes), "files": len(files)}
    assert prov["code"]["version"] and prov["libraries"]["torch"] and prov["device"] == "cpu"
    assert prov["context"] == {"model_context": 4096, "max_prompt_tokens": 2048,
                               "longest_prompt": prov["context"]["longest_prompt"], "max_model_len": 2054}
    instruction = "{problem}\n\nSolve the problem step by step and put the final answer inside <answer> </answer> tags."
    assert prov["prompt"]["instruction_templates_sha256"] == [hashlib.sha256(instruction.encode()).hexdigest()]
    assert summary["scoring"]["policy"]["decimal_digits"] == 0  # strict by default
    assert summary["generation"]["dtype"] == "float32" and summary["generation"]["seed"] == 0
    digest = next(line for line in printed.splitlines() if line.startswith("provenance: "))
    assert f"model {tiny_model_dir.resolve()} ({prov['model']['sha256'][:8]})" in digest and "hf on cpu float32" in digest
    assert "pass@1" in printed and "[" in printed  # the table shows intervals


@pytest.mark.slow
def test_training_policy_from_the_run_and_math_verify_columns(tiny_model_dir: Path, tmp_path: Path) -> None:
    """An adapter at RUN/global_step_N/adapter: RUN/config.yaml's reward.* policy is reported beside the strict one."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter = tmp_path / "run" / "global_step_3" / "adapter"
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    model.save_pretrained(adapter)
    (tmp_path / "run" / "config.yaml").write_text("reward:\n  decimal_digits: 3\n  units: true\n")
    bench = tmp_path / "b.json"
    bench.write_text(json.dumps([{"problem": "What is 2/3?", "answer": "\\frac{2}{3}"}]))
    out = tmp_path / "out"
    assert ev.main(["--model", str(tiny_model_dir), "--adapter", str(adapter), "--benchmarks", f"b={bench}",
                    "--max-tokens", "4", "--output-dir", str(out), "--no-progress", "--math-verify"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scoring"]["training_policy"]["decimal_digits"] == 3
    assert summary["scoring"]["training_policy_source"] == str((tmp_path / "run" / "config.yaml").resolve())
    stats = summary["benchmarks"]["b"]
    assert {"pass@1_training", "disagreements_training", "pass@1_math_verify", "disagreements_math_verify"} <= set(stats)
    assert summary["provenance"]["adapter"]["files"] == 2 and summary["generation"]["adapter"]


def test_verdict_columns_count_disagreements() -> None:
    """The scoring step on fixed responses: 0.667 for 2/3 is right under a 3-digit training policy only."""
    from deepscaler_grpo.evaluation.run import EvalConfig, score_benchmark
    from deepscaler_grpo.problems import Problem
    from deepscaler_grpo.reward import VerifierPolicy

    problems = [Problem("What is 2/3?", (("user", "What is 2/3?"),), ("\\frac{2}{3}",)),
                Problem("What is 1+1?", (("user", "What is 1+1?"),), ("2",))]
    responses = [["<answer>0.667</answer>", "<answer>\\frac{2}{3}</answer>"], ["<answer>2</answer>", "no"]]
    config = EvalConfig(model="m", benchmarks=("x",), n=2, math_verify=True)
    result = score_benchmark(problems, responses, config, VerifierPolicy.strict(), VerifierPolicy(decimal_digits=3))
    assert result.records[0]["accs"] == [False, True] and result.records[0]["accs_training"] == [True, True]
    assert result.records[0]["accs_math_verify"] == [False, True]  # math-verify: 0.667 is not 2/3 either
    assert result.summary["pass@1"] == pytest.approx(0.5) and result.summary["pass@1_training"] == pytest.approx(0.75)
    assert result.summary["disagreements_training"] == 1 and result.summary["disagreements_math_verify"] == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "./no/such/model"], "model folder ./no/such/model does not exist"),
        (["--adapter", "./no/adapter"], "adapter not found"),
        (["--n", "0"], "--n must be >= 1"),
        (["--n", "4", "--k", "8"], "--k values must be between 1 and --n 4"),
        (["--backend", "vllm"], "needs vLLM"),
        (["--benchmarks", "x/b.jsonl,y/b.jsonl"], "two benchmarks share a name"),
        (["--max-tokens", "5000"], "exceed the model's context of 4096 tokens (max_position_embeddings); pass --max-tokens"),
        (["--max-prompt-tokens", "3"], "more than --max-prompt-tokens 3; pass --max-prompt-tokens"),
        (["--training-policy", "decimal_digits"], "--training-policy 'decimal_digits': give a run folder"),
    ],
)
def test_eval_cli_errors(
    extra: list[str], message: str, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"problem": "1+1", "answer": "2"}) + "\n")
    out = tmp_path / "out"
    argv = ["--model", str(tiny_model_dir), "--benchmarks", str(bench), "--output-dir", str(out), *extra]
    if generation_vllm.vllm_installed() and "vllm" in extra:
        message = "vLLM's CPU backend supports attention head sizes"  # installed, but head_dim 16 has no CPU kernel
    assert ev.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing written before every check passed


@pytest.mark.parametrize("kind", ["file", "foreign"])
def test_output_location_is_checked_before_anything_loads(kind: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("x")
    else:
        out.mkdir()
        (out / "train.parquet").write_text("x")
    started = time.perf_counter()
    # the model does not exist: the output folder must be refused first
    assert ev.main(["--model", "./no/model", "--benchmarks", "x.json", "--output-dir", str(out)]) == 2
    assert time.perf_counter() - started < 1.0
    err = capsys.readouterr().err
    assert ("is a file; pass a folder path" if kind == "file" else "holds files of something else") in err


@pytest.mark.slow
def test_prompt_budget_is_lowered_to_fit_the_context_with_a_note(tiny_model_dir: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["--model", str(tiny_model_dir), "--benchmarks", f"m={mini_bench(tmp_path)}", "--max-tokens", "4",
            "--max-prompt-tokens", "4095", "--output-dir", str(out), "--no-progress"]
    assert ev.main(argv) == 0
    err = capsys.readouterr().err
    assert "note: --max-prompt-tokens 4095 + --max-tokens 4 exceed the model's context of 4096 tokens; " \
           "using --max-prompt-tokens 4092" in err
    assert json.loads((out / "summary.json").read_text())["provenance"]["context"]["max_model_len"] == 4096


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
    argv = ["--model", str(tiny_model_dir), "--adapter", str(adapter), "--benchmarks", f"a={bench},b={bench}",
            "--n", "4", "--temperature", "0.6", "--max-tokens", "100", "--seed", "7", "--output-dir",
            str(tmp_path / "out")]
    assert ev.main(argv) == 0
    (engine,) = calls["engines"]  # one engine for all benchmarks
    assert engine["model"] == str(tiny_model_dir) and engine["enable_lora"] and engine["max_lora_rank"] == 32
    assert engine["max_model_len"] == 100 + 2048 and engine["dtype"] == "bfloat16"  # a GPU: as HF's auto
    prompts, params, lora = calls["generates"][0]
    stops = generation_base.stop_token_ids(tokenizer)
    assert params["n"] == 4 and params["temperature"] == 0.6 and params["max_tokens"] == 100
    assert params["top_p"] == 1.0 and params["stop_token_ids"] == stops
    assert isinstance(params["seed"], int) and params["seed"] != 7  # each saved batch has its own seed
    # prompts are token ids rendered exactly as the HF backend renders them
    rendered = render_prompts(tokenizer, [[{"role": "user", "content": "0+2-0"}]])
    assert lora == ("lora", "adapter", 1, str(adapter))
    assert prompts[0]["prompt_token_ids"][-3:] == tokenizer(rendered, add_special_tokens=False)["input_ids"][0][-3:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["run"]["backend"] == "vllm" and summary["benchmarks"]["b"]["pass@4"] == 1.0
    assert summary["generation"]["dtype"] == "bfloat16"


@pytest.mark.slow
def test_protocol_deepscaler_at_tiny_sizes(tiny_model_dir: Path, shared_data: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """DeepScaleR's protocol on its five benchmarks; --limit and --max-tokens shrink it (and say so)."""
    out = tmp_path / "out"
    argv = ["--model", str(tiny_model_dir), "--protocol", "deepscaler", "--limit", "2", "--max-tokens", "4",
            "--output-dir", str(out), "--no-progress"]
    assert ev.main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    run = summary["run"]
    assert (run["n"], run["temperature"], run["top_p"], run["max_tokens"]) == (16, 0.6, 0.95, 4)
    assert list(summary["benchmarks"]) == ["aime24", "math500", "amc", "minerva", "olympiadbench"]
    assert all(stats["num_samples"] == 32 for stats in summary["benchmarks"].values())
    assert summary["protocol"] == "deepscaler"
    assert summary["protocol_overrides"] == ["--max-tokens 4 (protocol: 32768)", "--limit 2 (protocol: every problem)"]
    assert "not comparable with the protocol's published numbers" in captured.err
    header = next(line for line in captured.out.splitlines() if "AIME 2024" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == [
        "Model", "AIME 2024", "MATH 500", "AMC 2023", "Minerva Math", "OlympiadBench", "Avg."]


def test_k_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert ev.parse_k_values("1, 8,16") == (1, 8, 16)
    with pytest.raises(SystemExit):
        ev.build_parser().parse_args(["--model", "m", "--benchmarks", "b", "--k", "1,x"])
    assert "comma-separated integers" in capsys.readouterr().err


def test_help_shows_no_none_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ev.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text and "(default: eval_results)" in text
