"""deepscaler_grpo.training.rewards: rewards chosen by name, a verl user's own reward through the CLI, and broken
rewards that stop the run with a message naming the function and the row."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from safetensors.torch import load_file

from deepscaler_grpo.cli import main as cli_main
from deepscaler_grpo.config import ConfigError, load_config
from deepscaler_grpo.io import read_jsonl
from deepscaler_grpo.training.rewards import (
    Reward,
    RewardFunctionError,
    VerlRewardFunction,
    accuracy_index,
    build_rewards,
    load_custom_function,
)
from tests.helpers import DIGIT_REWARD_FILE, digit_share, tiny_overrides

CUSTOM = [f"custom_reward_function.path={DIGIT_REWARD_FILE}", "custom_reward_function.name=compute_score"]


def test_default_rewards_by_name_and_weights() -> None:
    rewards = build_rewards(load_config(["reward.format_weight=0.1"]))
    assert [(r.name, r.weight, r.accuracy) for r in rewards] == [("accuracy", 1.0, True), ("format", 0.1, False)]
    weighted = build_rewards(load_config(["reward.functions=[format,accuracy]", "reward.weights=[0.5,2.0]"]))
    assert [(r.name, r.weight) for r in weighted] == [("format", 0.5), ("accuracy", 2.0)] and accuracy_index(weighted) == 1
    overlong = build_rewards(load_config(["reward_model.overlong_buffer.enable=true", "reward_model.overlong_buffer.len=512",
                                          "reward_model.overlong_buffer.penalty_factor=0.5"]))
    assert [(r.name, r.weight) for r in overlong][-1] == ("overlong", 0.5)


def test_a_custom_function_takes_the_accuracy_slot() -> None:
    rewards = build_rewards(load_config(CUSTOM))
    assert [r.name for r in rewards] == ["compute_score", "format"] and accuracy_index(rewards) == 0
    given = build_rewards(load_config([]), [digit_share, Reward("acc", digit_share, 2.0, accuracy=True)])
    assert [(r.name, r.weight) for r in given] == [("digit_share", 1.0), ("acc", 2.0)] and accuracy_index(given) == 1
    assert accuracy_index([Reward("digits", digit_share)]) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["reward.functions=[accuracy,lenght]"], "unknown reward(s) ['lenght']; known: ['accuracy', 'custom', 'format']"),
        (["reward.functions=[accuracy,format]", "reward.weights=[1.0]"], "reward.weights has 1 values for 2"),
        (["reward.functions=[custom]"], "custom_reward_function.path is null"),
        (["custom_reward_function.path=/nonexistent/r.py"], "file not found"),
        ([f"custom_reward_function.path={DIGIT_REWARD_FILE}", "custom_reward_function.name=nope"],
         "has no function 'nope' (custom_reward_function.name); it defines ['compute_score', 'hanging', 'junk', 'raising']"),
    ],
)
def test_bad_reward_settings_fail_before_anything_loads(overrides: list[str], message: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["train", *overrides, f"trainer.default_local_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "run").exists()


def test_a_function_verl_could_not_call_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "two_args.py"
    path.write_text("def compute_score(solution_str, ground_truth):\n    return 1.0\n")
    with pytest.raises(ConfigError, match=r"cannot be called as verl calls it"):
        load_custom_function(str(path), "compute_score")
    path.write_text("import nonexistent_module_xyz\n")
    with pytest.raises(ConfigError, match="importing it failed: ModuleNotFoundError"):
        load_custom_function(str(path), "compute_score")


def _call(name: str, timeout_s: float = 5.0) -> list[float]:
    func = VerlRewardFunction(load_custom_function(str(DIGIT_REWARD_FILE), name), str(DIGIT_REWARD_FILE), timeout_s)
    completions = [[{"role": "assistant", "content": "12ab"}], [{"role": "assistant", "content": "x"}]]
    return func(prompts=None, completions=completions, answer=["1", "2"], data_source=["arith", "geo"],
                reward_model=[{"ground_truth": "1"}, {"ground_truth": "2"}], extra_info=[{"index": 0}, {"index": 1}])


def test_verl_rewards_get_verls_arguments_and_are_guarded() -> None:
    assert _call("compute_score") == [0.5, 0.0]
    with pytest.raises(RewardFunctionError, match=r"custom reward raising \(.*digit_reward.py\) on row 0 of the batch "
                                                  r"\(data_source 'arith'\) raised ValueError: cannot score arith"):
        _call("raising")
    with pytest.raises(RewardFunctionError, match=r"on row 0 .* returned 'high'; it must return a finite number"):
        _call("junk")
    with pytest.raises(RewardFunctionError, match=r"custom reward hanging .* did not return within reward.custom_timeout_s=0.5 s"):
        _call("hanging", timeout_s=0.5)


@pytest.mark.slow
def test_cli_trains_with_a_verl_users_reward(tiny_model_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli_main(["train", *tiny_overrides(tiny_model_dir, tmp_path / "data", run), *CUSTOM]) == 0
    rows = read_jsonl(run / "metrics.jsonl")
    scores = [r["rewards/compute_score/mean"] for r in rows]
    assert len(scores) == 2 and all(math.isfinite(s) for s in scores) and "rewards/accuracy_reward/mean" not in rows[0]
    adapter = load_file(str(run / "global_step_2" / "adapter" / "adapter_model.safetensors"))
    assert any(float(t.abs().sum()) > 0 for k, t in adapter.items() if "lora_B" in k)  # the reward moved the adapter
    saved = (run / "config.yaml").read_text()
    assert f"path: {DIGIT_REWARD_FILE}" in saved and "decimal_digits: 0" in saved and "order_from_prompt: true" in saved


@pytest.mark.slow
@pytest.mark.parametrize(("name", "extra", "message"), [
    ("raising", [], "custom reward raising"),
    ("junk", [], "returned 'high'"),
    ("hanging", ["reward.custom_timeout_s=2"], "did not return within reward.custom_timeout_s=2 s"),
])
def test_cli_stops_on_a_broken_reward_naming_it(name: str, extra: list[str], message: str, tiny_model_dir: Path,
                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = tiny_overrides(tiny_model_dir, tmp_path / "data", tmp_path / "run")
    custom = [f"custom_reward_function.path={DIGIT_REWARD_FILE}", f"custom_reward_function.name={name}"]
    assert cli_main(["train", *overrides, *custom, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_reward_policy_keys_are_the_verifiers_and_change_its_verdicts() -> None:
    """reward.* become the VerifierPolicy sent with every request: sqrt(2) vs 1.414 is decided in a worker."""
    import dataclasses

    from deepscaler_grpo.reward import VerifierPolicy
    from deepscaler_grpo.training.rewards import verifier_policy

    policy_fields = {f.name for f in dataclasses.fields(VerifierPolicy)}
    reward_defaults = dataclasses.asdict(load_config([], environ={}).reward)
    assert {k: reward_defaults[k] for k in policy_fields} == VerifierPolicy().as_dict()  # same names, same defaults
    completions = [[{"role": "assistant", "content": "so <answer>1.414</answer>"}]]
    verdicts = {}
    for digits in (0, 3):
        cfg = load_config([f"reward.decimal_digits={digits}", "reward.workers=1"])
        assert verifier_policy(cfg).decimal_digits == digits and verifier_policy(cfg).workers == 1
        accuracy = build_rewards(cfg)[0]
        verdicts[digits] = accuracy.func(completions, answer=["\\sqrt{2}"], prompts=[[{"role": "user", "content": "?"}]])
    assert verdicts == {0: [0.0], 3: [1.0]}
