"""Evaluation: pass@k maths, scoring handmade responses, HF generation, benchmark loading, the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from deepscaler_grpo import evaluate as ev

# ----------------------------------------------------------------------------------- pass@k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (10, 3, 1, 0.3),
        (10, 3, 4, 1 - 35 / 210),  # 1 - C(7,4)/C(10,4)
        (16, 2, 8, 1 - 3003 / 12870),  # 1 - C(14,8)/C(16,8)
        (5, 0, 2, 0.0),
        (5, 5, 3, 1.0),
        (4, 1, 4, 1.0),  # k > n - c: every k-subset holds the correct one
        (1024, 1, 512, 0.5),  # big n: product form stays exact where binomials overflow floats
    ],
)
def test_pass_at_k_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert ev.pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of k-subsets of n samples (the first c correct) that contain a correct one."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


def test_pass_at_k_matches_enumeration() -> None:
    for n in range(1, 8):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert ev.pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k), abs=1e-12), (n, c, k)


@pytest.mark.parametrize(("n", "c", "k"), [(4, 5, 1), (4, 1, 0), (4, 1, 5), (3, -1, 1)])
def test_pass_at_k_rejects_bad_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match="pass@k needs"):
        ev.pass_at_k(n, c, k)


@pytest.mark.parametrize(("n", "expected"), [(1, [1]), (2, [1, 2]), (6, [1, 2, 4, 6]), (16, [1, 2, 4, 8, 16])])
def test_default_k_values(n: int, expected: list[int]) -> None:
    assert ev.default_k_values(n) == expected


# ---------------------------------------------------------------------------------- scoring

HANDMADE = [
    # (responses, ground truth, expected accs, expected preds, expected formats)
    (["<answer>3</answer>", "no idea"], "3", [True, False], ["3", None], [True, False]),
    (["<answer>6</answer>", "so \\boxed{5}"], ["5", "6"], [True, True], ["6", "5"], [True, False]),
    (["<answer>142</answer>", "<answer>141</answer>"], 142.0, [True, False], ["142", "141"], [True, True]),
    (["<answer>\\frac{1}{2}</answer>", "<answer>0.5</answer>"], "\\frac12", [True, True], None, [True, True]),
]


def test_score_responses_known_scores() -> None:
    result = ev.score_responses([h[0] for h in HANDMADE], [h[1] for h in HANDMADE], problems=["a", "b", "c", "d"])
    for rec, (responses, truth, accs, preds, formats) in zip(result.records, HANDMADE, strict=True):
        assert rec["responses"] == responses and rec["answer"] == truth
        assert rec["accs"] == accs
        assert rec["scores"] == [float(a) for a in accs]
        assert rec["formats"] == formats
        if preds is not None:
            assert rec["preds"] == preds
    summary = result.summary
    assert summary["pass@1"] == pytest.approx((0.5 + 1 + 0.5 + 1) / 4)
    assert summary["pass@2"] == pytest.approx(1.0)
    assert summary["format_rate"] == pytest.approx(6 / 8)
    assert (summary["num_problems"], summary["num_samples"], summary["samples_per_problem"]) == (4, 8, 2)
    assert list(summary)[:2] == ["pass@1", "pass@2"]


def test_score_responses_custom_k_and_errors() -> None:
    result = ev.score_responses([["<answer>1</answer>"] * 2 + ["x"] * 2], ["1"], k_values=[1, 3, 8])
    assert result.summary["pass@3"] == pytest.approx(1.0)  # 1 - C(2,3)/C(4,3) with C(2,3) = 0
    assert "pass@8" not in result.summary  # k > n is skipped
    with pytest.raises(ValueError, match="2 response lists but 1 ground truths"):
        ev.score_responses([["a"], ["b"]], ["1"])
    with pytest.raises(ValueError, match="no problems"):
        ev.score_responses([], [])


# ------------------------------------------------------------------------------- generation


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return ev.load_model(str(tiny_model_dir))


PROMPTS = [
    [{"role": "user", "content": "What is 2 + 2?"}],
    [{"role": "user", "content": "Compute \\frac{3}{4} of 12, then add 5 and divide by 7."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "x = 3, y?"}],
]


@pytest.mark.slow
def test_generate_hf_shapes_and_greedy_determinism(tiny) -> None:
    model, tok = tiny
    model.train()  # generate must switch to eval and restore the caller's mode
    kwargs = {"n": 3, "temperature": 0.0, "max_tokens": 6, "progress": False}
    out = ev.generate_hf(model, tok, PROMPTS, batch_size=16, **kwargs)
    assert [len(r) for r in out] == [3, 3, 3]
    assert all(len(set(r)) == 1 for r in out)  # greedy: the n samples are the same
    assert model.training and tok.padding_side == "left"
    # batching (left padding) must not change greedy outputs
    assert ev.generate_hf(model, tok, PROMPTS, batch_size=1, **kwargs) == out
    single = ev.generate_hf(model, tok, PROMPTS[1:2], **kwargs)
    assert single == out[1:2]


@pytest.mark.slow
def test_generate_hf_sampling_is_seeded(tiny) -> None:
    import torch

    model, tok = tiny
    kwargs = {"n": 4, "temperature": 1.0, "max_tokens": 6, "progress": False, "batch_size": 8}
    rng_state = torch.get_rng_state()
    first = ev.generate_hf(model, tok, PROMPTS, seed=1, **kwargs)
    assert torch.equal(torch.get_rng_state(), rng_state)  # a trainer's random stream is left alone
    assert [len(r) for r in first] == [4, 4, 4]
    assert ev.generate_hf(model, tok, PROMPTS, seed=1, **kwargs) == first
    assert any(len(set(r)) > 1 for r in first)  # a random tiny model at T=1 does not repeat itself


@pytest.mark.slow
def test_evaluate_model_is_generate_then_score(tiny) -> None:
    model, tok = tiny
    rows = [{"problem": "p", "prompt": p, "answer": "4"} for p in PROMPTS]
    result = ev.evaluate_model(model, tok, rows, n=2, temperature=0.0, max_tokens=5, progress=False)
    expected = ev.generate_hf(model, tok, [r["prompt"] for r in rows], n=2, temperature=0.0, max_tokens=5,
                              progress=False)
    assert [rec["responses"] for rec in result.records] == expected
    accs = [a for rec in result.records for a in rec["accs"]]
    assert result.summary["pass@1"] == pytest.approx(sum(accs) / len(accs))
    assert result.summary["num_samples"] == 6


# ---------------------------------------------------------------------------------- loading


def test_load_benchmark_real_files(shared_data: Path) -> None:
    amc = ev.load_benchmark(str(shared_data / "test_amc.json"))
    assert len(amc) == 83 and amc[0]["answer"] == "142"  # float 142.0 normalized
    assert amc[0]["prompt"][-1]["role"] == "user" and amc[0]["problem"] in amc[0]["prompt"][-1]["content"]
    minerva = ev.load_benchmark(f"minerva={shared_data / 'test_minerva.json'}", limit=5)
    assert len(minerva) == 5 and minerva[0]["answer"] == ["9.6"]
    olympiad = ev.load_benchmark(str(shared_data / "test_olympiad_bench.json"), limit=3)
    assert all(isinstance(r["answer"], list) for r in olympiad)
    assert len(ev.load_benchmark(str(shared_data / "test_aime.json"))) == 30


def test_load_benchmark_parquet_with_prompt_and_ground_truth(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    prompt = [{"role": "system", "content": "sys"}, {"role": "user", "content": "Q1 <answer>"}]
    table = pa.Table.from_pylist(
        [
            {"problem": "Q1", "answer": "2", "prompt": prompt, "reward_model": {"ground_truth": ["2", "two"]}},
            {"problem": "Q2", "answer": "", "prompt": prompt, "reward_model": {"ground_truth": None}},
        ]
    )
    pq.write_table(table, tmp_path / "val.parquet")
    rows = ev.load_benchmark(str(tmp_path / "val.parquet"))
    assert len(rows) == 1  # the row without an answer is dropped
    assert rows[0]["prompt"] == prompt and rows[0]["answer"] == ["2", "two"]


def test_load_benchmark_column_aliases_and_specs(tmp_path: Path) -> None:
    path = tmp_path / "olymp.jsonl"
    path.write_text(json.dumps({"question": "Q?", "final_answer": ["$3$"]}) + "\n")
    rows = ev.load_benchmark(f"olymp={path}")
    assert rows[0]["problem"] == "Q?" and rows[0]["answer"] == ["3"]
    assert ev.parse_benchmark_spec(str(path)) == ("olymp", str(path))
    assert ev.parse_benchmark_spec("AIME24") == ("aime24", "aime24")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("does/not/exist.json", "benchmark file not found"),
        ("aime24", "aime24=../shared/data/deepscaler/test_aime.json"),  # offline Hub: suggest the local file
        ("=x.json", "use NAME=PATH"),
    ],
)
def test_load_benchmark_errors(spec: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(ev.EvalError, match=message.replace(".", r"\.")):
        ev.load_benchmark(spec)


# -------------------------------------------------------------------------------------- CLI


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
        (["--model", "./no/such/model"], "model path not found"),
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
    if ev.vllm_available() and "vllm" in extra:
        pytest.skip("vLLM is usable here")
    assert ev.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "summary.json").exists()


def test_atomic_write_text_replaces(tmp_path: Path) -> None:
    target = ev.atomic_write_text(tmp_path / "a" / "x.json", "one")
    ev.atomic_write_text(target, "two")
    assert target.read_text() == "two" and [p.name for p in target.parent.iterdir()] == ["x.json"]


def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Stand-in ``vllm`` modules recording how the engine is built and called (no GPU here)."""
    import sys
    import types

    calls: dict = {"engines": [], "chats": []}

    class LLM:
        def __init__(self, **kwargs):
            calls["engines"].append(kwargs)

        def chat(self, prompts, params, lora_request=None, use_tqdm=True):
            calls["chats"].append((prompts, params, lora_request))
            sample = types.SimpleNamespace(text="so <answer>2</answer>")
            return [types.SimpleNamespace(outputs=[sample] * params["n"]) for _ in prompts]

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, lambda **kw: kw
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, idx, path: ("lora", name, idx, path)
    modules = {"vllm": vllm, "vllm.lora": types.ModuleType("vllm.lora"), "vllm.lora.request": request}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(ev, "vllm_available", lambda: True)
    return calls


def test_eval_cli_vllm_backend_wiring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_vllm(monkeypatch)
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
    assert engine["max_model_len"] == 100 + 2048
    prompts, params, lora = calls["chats"][0]
    assert params == {"n": 4, "temperature": 0.6, "top_p": 1.0, "max_tokens": 100, "seed": 7}
    assert lora == ("lora", "adapter", 1, str(adapter)) and prompts[0][-1]["role"] == "user"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["run"]["backend"] == "vllm" and summary["benchmarks"]["b"]["pass@4"] == 1.0


def test_k_option_and_prompt_rendering(tiny, capsys: pytest.CaptureFixture[str]) -> None:
    assert ev.parse_k_values("1, 8,16") == (1, 8, 16)
    with pytest.raises(SystemExit):
        ev.build_parser().parse_args(["--model", "m", "--benchmarks", "b", "--k", "1,x"])
    assert "comma-separated integers" in capsys.readouterr().err
    _, tok = tiny
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert ev.render_prompts(tok, [messages, "raw"]) == [
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n",
        "raw",
    ]
    no_template = type("Tok", (), {"chat_template": None})()
    assert ev.render_prompts(no_template, [messages]) == ["S\n\nU\n\n"]
    assert ev.stop_token_ids(tok) == [tok.convert_tokens_to_ids("<|im_end|>")]
