"""VerifierPolicy: the contract with training and evaluation, and the policy travelling with every request."""

from __future__ import annotations

import inspect
import json
import pickle

import pytest

from deepscaler_grpo.reward import (
    DEFAULT_TIMEOUT_S,
    AccuracyReward,
    VerifierPolicy,
    accuracy_reward,
    check,
    check_many,
    checking,
    compute_score,
    get_pool,
    make_reward_funcs,
    pool_for,
    score_batch,
    verify,
)
from deepscaler_grpo.reward.policy import Grading
from deepscaler_grpo.reward.sandbox import Outcome

ENV = ("DEEPSCALER_VERIFIER_DECIMAL_DIGITS", "DEEPSCALER_VERIFIER_WORKERS", "DEEPSCALER_VERIFIER_MAX_MEMORY")


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_fields_defaults_and_record() -> None:
    policy = VerifierPolicy()
    assert policy.as_dict() == {"decimal_digits": 0, "timeout_s": DEFAULT_TIMEOUT_S, "workers": None,
                                "max_memory_mb": 3072, "units": True, "order_from_prompt": True}
    assert json.loads(json.dumps(policy.as_dict())) == policy.as_dict()
    assert pickle.loads(pickle.dumps(policy)) == policy
    with pytest.raises(AttributeError):
        policy.timeout_s = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"decimal_digits": -1}, "decimal_digits must be an integer >= 0"),
        ({"decimal_digits": 2.5}, "decimal_digits"),
        ({"timeout_s": 0}, "timeout_s must be a number of seconds > 0"),
        ({"timeout_s": float("inf")}, "timeout_s"),
        ({"workers": 0}, "workers must be an integer >= 1"),
        ({"max_memory_mb": 16}, "max_memory_mb must be an integer >= 256"),
        ({"units": "yes"}, "units must be True or False"),
    ],
)
def test_invalid_fields_name_the_fix(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VerifierPolicy(**fields)


def test_environment_gives_defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSCALER_VERIFIER_DECIMAL_DIGITS", "4")
    monkeypatch.setenv("DEEPSCALER_VERIFIER_WORKERS", "3")
    monkeypatch.setenv("DEEPSCALER_VERIFIER_MAX_MEMORY", str(2 * 1024**3))  # bytes, as before
    assert VerifierPolicy.from_env() == VerifierPolicy(decimal_digits=4, workers=3, max_memory_mb=2048)
    assert VerifierPolicy() == VerifierPolicy(decimal_digits=0)  # an explicit policy never reads the environment
    assert VerifierPolicy.strict().decimal_digits == 0 and VerifierPolicy.strict().workers == 3
    assert verify("0.6667", r"\frac23") is True  # policy=None: from_env()
    assert verify("0.6667", r"\frac23", policy=VerifierPolicy()) is False
    monkeypatch.setenv("DEEPSCALER_VERIFIER_WORKERS", "many")
    with pytest.raises(ValueError, match="DEEPSCALER_VERIFIER_WORKERS"):
        VerifierPolicy.from_env()


@pytest.mark.parametrize("entry", [check, check_many, verify, score_batch, accuracy_reward, make_reward_funcs])
def test_every_entry_point_takes_a_policy(entry: object) -> None:
    assert "policy" in inspect.signature(entry).parameters  # type: ignore[arg-type]


def test_policy_fields_through_every_entry_point() -> None:
    four = VerifierPolicy(decimal_digits=4)
    assert check("0.6667", r"\frac23", policy=four).correct is True
    assert [v.correct for v in check_many(["0.6667", "0.667"], [r"\frac23"] * 2, policy=four)] == [True, False]
    assert score_batch(["<answer>0.6667</answer>"], [r"\frac23"], policy=four)[0]["acc"] is True
    assert compute_score("m", "<answer>0.6667</answer>", r"\frac23", decimal_digits=4)["acc"] is True
    assert compute_score("m", "<answer>0.6667</answer>", r"\frac23", policy=four)["acc"] is True
    assert compute_score("m", "<answer>0.6667</answer>", r"\frac23", policy=four.as_dict())["acc"] is True
    assert compute_score("m", "<answer>0.6667</answer>", r"\frac23")["acc"] is False
    assert accuracy_reward(["<answer>0.6667</answer>"], [r"\frac23"], policy=four) == [1.0]


def test_timeout_keyword_overrides_the_policy() -> None:
    reward = AccuracyReward(timeout_s=2.0, policy=VerifierPolicy(decimal_digits=4))
    assert reward.policy == VerifierPolicy(decimal_digits=4, timeout_s=2.0) and reward.timeout_s == 2.0
    restored = pickle.loads(pickle.dumps(reward))
    assert restored == reward and restored(["<answer>0.6667</answer>"], [r"\frac23"]) == [1.0]
    funcs, _ = make_reward_funcs(timeout_s=3.0, policy=VerifierPolicy(workers=1))
    assert funcs[0].policy == VerifierPolicy(workers=1, timeout_s=3.0)


def test_requests_carry_their_grading_and_default_when_absent() -> None:
    pool = get_pool()
    assert pool.check("1.414", [r"\sqrt{2}"], 5.0, Grading(decimal_digits=3)).correct is True
    assert pool.check("1.414", [r"\sqrt{2}"], 5.0).correct is False  # no grading: the default, not the last one
    assert Grading.from_request({"decimal_digits": 3}) == Grading(decimal_digits=3)
    assert Grading.from_request({"decimal_digits": "3", "units": 1}) == Grading()
    assert Grading.from_request(None) == Grading()


def test_pools_are_keyed_by_workers_and_memory() -> None:
    small = pool_for(VerifierPolicy(workers=1, max_memory_mb=1024))
    assert small is pool_for(VerifierPolicy(workers=1, max_memory_mb=1024, decimal_digits=5))
    assert small is not pool_for(VerifierPolicy(workers=1))
    assert (small.size, small.max_memory_mb) == (1, 1024)
    assert check("n^2-n", "n(n-1)", policy=VerifierPolicy(workers=1, max_memory_mb=1024)).correct is True


class _FlakyPool:
    """A pool whose first answer is a timeout: the verdict must be asked for again, then cached."""

    size = 1

    def __init__(self) -> None:
        self.calls = 0

    def check(self, pred: str, golds: list[str], timeout_s: float, grading: Grading | None = None) -> Outcome:
        self.calls += 1
        return Outcome(False, "timeout") if self.calls == 1 else Outcome(True, "ok")


def test_only_verdicts_are_cached_and_the_key_has_no_time_budget() -> None:
    checking.SYMBOLIC_CACHE.clear()
    pool = _FlakyPool()
    pending = (("x+1", ("1+x",)),)
    assert checking.symbolic_check(pending, 5.0, Grading(), pool) == checking.Verdict(False, "timeout")
    assert checking.symbolic_check(pending, 4.0, Grading(), pool) == checking.Verdict(True, "symbolic")
    assert checking.symbolic_check(pending, 0.5, Grading(), pool) == checking.Verdict(True, "symbolic")
    assert pool.calls == 2  # retried after the timeout, then answered from the cache whatever the time left
    assert checking.symbolic_check(pending, 5.0, Grading(decimal_digits=3), pool).correct and pool.calls == 3
