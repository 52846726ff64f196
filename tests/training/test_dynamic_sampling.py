"""deepscaler_grpo.training.dynamic_sampling (algorithm.filter_groups) and the overlong penalty
(reward_model.overlong_buffer, a reward of deepscaler_grpo.training.rewards): selection rules, config mapping, and
real tiny runs with a reward that makes some prompts always right, some always wrong and the rest vary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from deepscaler_grpo.config import ConfigError, load_config
from deepscaler_grpo.io import read_jsonl
from deepscaler_grpo.training import dynamic_sampling, mapping, run_training
from deepscaler_grpo.training.rewards import Reward, build_rewards
from tests.helpers import TESTS, digit_share, tiny_overrides

CLASS_REWARD = TESTS / "training" / "rewards" / "class_reward.py"

# ------------------------------------------------------------------------------------------------- units


def test_select_groups_takes_the_first_varying_and_tops_up_with_masked_ones() -> None:
    keep = [False, True, False, True, True]
    assert dynamic_sampling.select_groups(keep, 2) == ([1, 3], [])
    assert dynamic_sampling.select_groups(keep, 4) == ([1, 3, 4, 0], [0])
    assert dynamic_sampling.select_groups([False, False], 2) == ([0, 1], [0, 1])


def test_extra_prompts_are_deterministic_per_step_and_batch() -> None:
    draw = dynamic_sampling.extra_prompt_indices
    assert draw(100, 8, 42, 3, 1) == draw(100, 8, 42, 3, 1)  # a resumed run draws the same prompts
    assert draw(100, 8, 42, 3, 1) != draw(100, 8, 42, 3, 2) and len(set(draw(100, 8, 42, 3, 1))) == 8


def test_filter_groups_config_uses_verl_names_and_checks_values() -> None:
    cfg = load_config(["algorithm.filter_groups.enable=true", "algorithm.filter_groups.metric=score",
                       "algorithm.filter_groups.max_num_gen_batches=0"])
    assert (cfg.algorithm.filter_groups.metric, cfg.algorithm.filter_groups.max_num_gen_batches) == ("score", 0)
    with pytest.raises(ConfigError, match="choose from \\['acc', 'score'\\]"):
        load_config(["algorithm.filter_groups.metric=seq_reward"])
    with pytest.raises(dynamic_sampling.DynamicSamplingError, match="metric=acc needs an accuracy reward"):
        dynamic_sampling.DynamicSamplingMixin(filter_groups=load_config(["algorithm.filter_groups.enable=true"])
                                              .algorithm.filter_groups, accuracy_reward_index=None)


def test_overlong_buffer_maps_to_trl_soft_punishment_with_the_penalty_factor() -> None:
    cfg = load_config(["data.max_response_length=16", "reward_model.overlong_buffer.enable=true",
                       "reward_model.overlong_buffer.len=4", "reward_model.overlong_buffer.penalty_factor=0.5",
                       "reward_model.overlong_buffer.mask_truncated_completions=true"])
    rewards = build_rewards(cfg)
    assert [r.weight for r in rewards] == [1.0, 0.0, 0.5]  # accuracy, format, overlong penalty
    assert mapping.grpo_kwargs(cfg, 1)["reward_weights"] == [1.0, 0.0, 0.5]
    penalty = rewards[-1].func
    # -f * min(max(|y| - (L_max - B), 0) / B, 1) with L_max=16, B=4: 0 up to 12 tokens, -f at 16 (truncated)
    raw = penalty(completion_ids=[[1] * n for n in (5, 12, 13, 14, 16)])
    assert [0.5 * r for r in raw] == [0.0, 0.0, -0.125, -0.25, -0.5]
    assert mapping.grpo_kwargs(cfg, 1)["mask_truncated_completions"] is True
    assert mapping.grpo_kwargs(load_config([]), 1)["mask_truncated_completions"] is False
    assert len(build_rewards(load_config([]))) == 2  # off by default
    with pytest.raises(ConfigError, match="verl key reward_model.enable is not supported"):
        load_config(["reward_model.enable=true"])  # the rest of verl's reward_model section stays unsupported


# ---------------------------------------------------------------------------------------- real tiny runs


def _class_reward(calls: list[list[float]]) -> Reward:
    """answer % 3 == 0: always right (1), == 1: always wrong (0), == 2: the digit share of the response (varies)."""

    def acc(completions: list, answer: list, **kw: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        out = [1.0 if int(a) % 3 == 0 else 0.0 if int(a) % 3 == 1 else sum(ch.isdigit() for ch in t) / max(len(t), 1)
               for t, a in zip(texts, answer)]
        calls.append(out)
        return out

    return Reward("acc", acc, 1.0, accuracy=True)


def _record_trained_batches(monkeypatch: pytest.MonkeyPatch, batches: list[dict[str, torch.Tensor]]) -> None:
    original = dynamic_sampling.DynamicSamplingMixin._generate_and_score_completions

    def spy(self: Any, inputs: list) -> dict:
        out = original(self, inputs)
        if self.model.training:
            batches.append({k: v.detach().clone() for k, v in out.items()})
        return out

    monkeypatch.setattr(dynamic_sampling.DynamicSamplingMixin, "_generate_and_score_completions", spy)


def _zero_variance_groups(rewards: list[float], n: int = 2) -> int:
    groups = [rewards[i : i + n] for i in range(0, len(rewards), n)]
    return sum(max(g) - min(g) <= 1e-6 for g in groups)


@pytest.mark.slow
def test_dynamic_sampling_trains_only_varying_groups(tiny_model_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[float]] = []
    batches: list[dict[str, torch.Tensor]] = []
    _record_trained_batches(monkeypatch, batches)
    run = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=2)  # answers 3..10: 3 classes
    cfg = load_config([*overrides, "algorithm.filter_groups.enable=true", "algorithm.filter_groups.max_num_gen_batches=0"])
    run_training(cfg, reward_funcs=[_class_reward(calls)])
    rows = read_jsonl(run / "metrics.jsonl")
    per_step = [int(r["train/num_gen_batches"]) for r in rows]
    assert sum(per_step) == len(calls) and all(n >= 2 for n in per_step)  # 4 prompts, ~1/3 of groups vary
    first = 0
    for row, count in zip(rows, per_step):
        step_calls = calls[first : first + count]
        first += count
        assert row["train/zero_variance_groups"] == sum(_zero_variance_groups(c) for c in step_calls)
        assert row["train/masked_groups"] == 0
    for batch in batches:  # 4 groups x 2 responses, every group with non-zero advantages
        assert batch["advantages"].shape == (8,)
        assert all(batch["advantages"][i : i + 2].abs().sum() > 0 for i in range(0, 8, 2))
        assert int(batch["num_items_in_batch"]) == int(batch["completion_mask"].sum())


@pytest.mark.slow
def test_dynamic_sampling_limit_trains_on_what_there_is_or_fails(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[list[float]] = []
    batches: list[dict[str, torch.Tensor]] = []
    _record_trained_batches(monkeypatch, batches)
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run", steps=1)
    limit = ["algorithm.filter_groups.enable=true", "algorithm.filter_groups.max_num_gen_batches=1"]
    run_training(load_config([*overrides, *limit]), reward_funcs=[_class_reward(calls)])
    row = read_jsonl(tmp_path / "run" / "metrics.jsonl")[0]
    zero = _zero_variance_groups(calls[0])
    assert zero > 0 and row["train/num_gen_batches"] == 1 and row["train/zero_variance_groups"] == zero
    assert row["train/masked_groups"] == zero  # the batch was topped up with masked zero-variance groups
    assert "warning: dynamic sampling: step 1 has only" in capsys.readouterr().err
    mask = batches[0]["completion_mask"]
    assert int((mask.sum(dim=1) == 0).sum()) >= 2 * zero  # their responses carry no loss

    capsys.readouterr()
    failing = tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run2", steps=1)
    with pytest.raises(dynamic_sampling.DynamicSamplingError, match="raise max_num_gen_batches"):
        run_training(load_config([*failing, *limit, "algorithm.filter_groups.fail_at_limit=true"]),
                     reward_funcs=[_class_reward([])])


@pytest.mark.slow
def test_overlong_buffer_penalises_truncated_responses(tiny_model_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """8-token responses from a random tiny model are truncated: each gets the full penalty (-f) in its reward."""
    from trl import GRPOTrainer

    seen: list[tuple[list[list[int]], torch.Tensor]] = []
    original = GRPOTrainer._calculate_rewards

    def spy(self: Any, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any) -> torch.Tensor:
        rewards = original(self, inputs, prompts, completions, completion_ids_list)
        seen.append(([list(ids) for ids in completion_ids_list], rewards.clone(), self.reward_weights.clone()))
        return rewards

    monkeypatch.setattr(GRPOTrainer, "_calculate_rewards", spy)
    run = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=1)
    run_training(load_config([*overrides, "data.max_response_length=8", "reward_model.overlong_buffer.enable=true",
                              "reward_model.overlong_buffer.len=4", "reward_model.overlong_buffer.penalty_factor=0.5"]),
                 reward_funcs=[digit_share])
    ids, rewards, weights = seen[0]
    assert weights.tolist() == [1.0, 0.5]
    expected = [-min(max(len(x) - 4, 0) / 4, 1.0) for x in ids]
    assert rewards[:, 1].tolist() == pytest.approx(expected)
    assert any(len(x) == 8 for x in ids) and all(r == -1.0 for x, r in zip(ids, rewards[:, 1].tolist()) if len(x) == 8)
    row = read_jsonl(run / "metrics.jsonl")[0]
    assert row["rewards/soft_overlong_punishment_reward/mean"] == pytest.approx(sum(expected) / len(expected))


TWO_PROCESSES = """
import os, sys
from deepscaler_grpo.training import dynamic_sampling
local_slice = dynamic_sampling.DynamicSamplingMixin._local_slice
def spy(self, rows, chosen, masked, n):
    out = local_slice(self, rows, chosen, masked, n)
    with open(os.path.join(os.environ["CHOSEN_DIR"], f"rank{self.accelerator.process_index}.txt"), "a") as f:
        f.write(f"{chosen} {len(out['advantages'])}\\n")  # one file per rank: stdout lines of two ranks interleave
    return out
dynamic_sampling.DynamicSamplingMixin._local_slice = spy
from deepscaler_grpo.training.run import main
rc = main(sys.argv[1:])
import torch.distributed as dist
if dist.is_initialized():
    dist.barrier()
    dist.destroy_process_group()
sys.stdout.flush()
os._exit(rc)  # gloo's threads sometimes abort in interpreter teardown ("terminate called without an active exception")
"""


@pytest.mark.slow
def test_two_processes_filter_globally_with_equal_batches_across_a_stage_change(tiny_model_dir: Path, tmp_path: Path) -> None:
    """torchrun, 2 CPU processes (gloo, as for 2 GPUs): the same groups are chosen on both ranks, each trains on half of them, and the
    length schedule moves both to the next stage (rollout_n 2 -> 4)."""
    import os
    import subprocess
    import sys

    run = tmp_path / "run"
    overrides = [*tiny_overrides(tiny_model_dir, tmp_path / "data", run, steps=3), "trainer.n_gpus_per_node=2",
                 f"custom_reward_function.path={CLASS_REWARD}",
                 "algorithm.filter_groups.enable=true", "algorithm.filter_groups.max_num_gen_batches=0",
                 "trainer.length_schedule=[{until_step:2,max_response_length:8},{max_response_length:16,rollout_n:4}]"]
    script = tmp_path / "two.py"
    script.write_text(TWO_PROCESSES)
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CHOSEN_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(repo / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script), *overrides], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    by_rank = [(tmp_path / f"rank{rank}.txt").read_text().splitlines() for rank in (0, 1)]
    assert len(by_rank[0]) == 3 and by_rank[0] == by_rank[1]  # one global decision per step
    assert [line.rsplit(" ", 1)[1] for line in by_rank[0]] == ["4", "4", "8"]  # 2 groups x n per rank
    rows = read_jsonl(run / "metrics.jsonl")
    assert [(r["step"], r["stage/index"]) for r in rows] == [(1, 0), (2, 0), (3, 1)]
    assert all(r["train/num_gen_batches"] >= 1 for r in rows)
