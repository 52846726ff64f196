"""The rewards GRPO trains on, chosen by name, including the user's own.

    reward:
      functions: [accuracy, format]   # built-in names, in order (reward.weights: one weight each, or null)
    custom_reward_function:           # verl's keys: a reward written as verl users write it
      path: my_reward.py
      name: compute_score             # compute_score(data_source, solution_str, ground_truth, extra_info) -> float | {"score": ...}

Built-in rewards (:func:`builtin_factories`): ``accuracy`` (the verifier: 1 when the last ``<answer>`` matches the
ground truth, with the run's verifier policy from ``reward.*``), ``format`` (1 for a non-empty ``<answer>`` tag;
weight ``reward.format_weight``, kept at weight 0 so the format rate is logged), ``custom`` (the
``custom_reward_function``; a custom function takes the place of ``accuracy`` when ``reward.functions`` does not
name ``custom``). ``reward_model.overlong_buffer.enable`` adds DAPO's ``overlong`` penalty (TRL's soft overlong
punishment, weight ``penalty_factor``). Python users pass their own: ``run_training(cfg, reward_funcs=[Reward(...),
my_fn])`` (a plain function gets weight 1).

Dynamic sampling's ``metric=acc`` reads the reward marked ``accuracy`` (:func:`accuracy_index`): the built-in
``accuracy`` or the custom function. A custom function that raises, hangs past ``reward.custom_timeout_s`` or
returns something that is not a number stops the run with a one-line :class:`RewardFunctionError` naming the
function, the file and the row.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.config import ConfigError
from deepscaler_grpo.errors import UserError

if TYPE_CHECKING:
    from deepscaler_grpo.config import Config

RewardFunc = Callable[..., list[float]]


class RewardFunctionError(UserError):
    """A reward function that raised, hung or returned junk; the message names the function and the row."""


@dataclass(frozen=True)
class Reward:
    """One reward function given to TRL (it logs ``rewards/<func.__name__>/mean``), its weight in the sum GRPO
    trains on, and whether it is the accuracy that dynamic sampling filters on."""

    name: str
    func: RewardFunc = field(compare=False)
    weight: float = 1.0
    accuracy: bool = False


# ------------------------------------------------------------------------------------------------ registry


def builtin_factories() -> dict[str, Callable[[Config], Reward]]:
    """Reward name -> a factory building it from (one stage's) config."""
    return {"accuracy": accuracy_reward, "format": format_reward, "custom": custom_reward}


def verifier_policy(cfg: Config) -> Any:
    """The ``reward.*`` policy keys as the verifier's ``VerifierPolicy`` (one field each, same names)."""
    from deepscaler_grpo.reward import VerifierPolicy

    r = cfg.reward
    return VerifierPolicy(decimal_digits=r.decimal_digits, timeout_s=r.timeout_s, workers=r.workers,
                          max_memory_mb=r.max_memory_mb, units=r.units, order_from_prompt=r.order_from_prompt)


def accuracy_reward(cfg: Config) -> Reward:
    from deepscaler_grpo.reward import AccuracyReward

    func = AccuracyReward(cfg.reward.boxed_fallback, policy=verifier_policy(cfg))
    return Reward("accuracy", func, 1.0, accuracy=True)


def format_reward(cfg: Config) -> Reward:
    from deepscaler_grpo.reward import format_reward as func

    return Reward("format", func, cfg.reward.format_weight)


def custom_reward(cfg: Config) -> Reward:
    custom = cfg.custom_reward_function
    func = load_custom_function(custom.path, custom.name)
    return Reward(custom.name, VerlRewardFunction(func, custom.path, cfg.reward.custom_timeout_s), 1.0, accuracy=True)


def overlong_reward(cfg: Config) -> Reward:
    """DAPO's overlong buffer as TRL's soft overlong punishment (see ``reward_model.overlong_buffer``)."""
    from trl.rewards import get_soft_overlong_punishment

    buffer = cfg.reward_model.overlong_buffer
    func = get_soft_overlong_punishment(max_completion_len=cfg.data.max_response_length, soft_punish_cache=buffer.len)
    return Reward("overlong", func, buffer.penalty_factor)


def reward_names(cfg: Config) -> list[str]:
    """``reward.functions`` with a custom function in the accuracy slot when one is configured but not named."""
    names = list(cfg.reward.functions)
    if cfg.custom_reward_function.path and "custom" not in names:
        names = ["custom" if name == "accuracy" else name for name in names]
        if "custom" not in names:
            names.insert(0, "custom")
    return names


def build_rewards(cfg: Config, given: Sequence[Reward | RewardFunc] | None = None) -> list[Reward]:
    """The run's rewards: ``given`` (Python users), else ``reward.functions``; the overlong penalty when enabled."""
    if given is not None:
        rewards = [item if isinstance(item, Reward) else Reward(_func_name(item), item) for item in given]
    else:
        check_reward_names(cfg)
        factories, names = builtin_factories(), reward_names(cfg)
        weights = cfg.reward.weights
        rewards = [factories[name](cfg) for name in names]
        if weights is not None:
            rewards = [Reward(r.name, r.func, float(w), r.accuracy) for r, w in zip(rewards, weights, strict=True)]
    if cfg.reward_model.overlong_buffer.enable:
        rewards.append(overlong_reward(cfg))
    return rewards


def check_reward_names(cfg: Config) -> None:
    """Unknown names fail before any model loads, listing the known ones; a custom function is loaded to check it."""
    known = builtin_factories()
    unknown = [name for name in cfg.reward.functions if name not in known]
    if unknown:
        raise ConfigError(
            f"reward.functions: unknown reward(s) {unknown}; known: {sorted(known)} (your own: "
            "custom_reward_function.path=FILE.py custom_reward_function.name=FUNCTION)"
        )
    if cfg.custom_reward_function.path:
        load_custom_function(cfg.custom_reward_function.path, cfg.custom_reward_function.name)


def accuracy_index(rewards: Sequence[Reward]) -> int | None:
    """Position of the accuracy reward (marked ``accuracy``, else named ``accuracy``); None when there is none."""
    for i, reward in enumerate(rewards):
        if reward.accuracy:
            return i
    return next((i for i, reward in enumerate(rewards) if reward.name == "accuracy"), None)


def _func_name(func: Any) -> str:
    return getattr(func, "__name__", type(func).__name__)


# ------------------------------------------------------------------------------------------- verl functions


def load_custom_function(path: str | None, name: str) -> Callable[..., Any]:
    """The function ``name`` of the Python file ``path`` (verl's ``custom_reward_function``), checked to take
    verl's four arguments."""
    key = f"custom_reward_function.path={path}"
    file = Path(path or "").expanduser()
    if not file.is_file():
        raise ConfigError(f"{key}: file not found; point it at a .py file defining {name}(data_source, "
                          "solution_str, ground_truth, extra_info)")
    spec = importlib.util.spec_from_file_location(f"deepscaler_custom_reward_{abs(hash(str(file.resolve())))}", file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{key}: cannot be imported as a Python module (name it *.py)")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's module: any failure gets the same one-line message
        raise ConfigError(f"{key}: importing it failed: {type(exc).__name__}: {_one_line(exc)}") from None
    func = getattr(module, name, None)
    if not callable(func):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        raise ConfigError(f"{key} has no function {name!r} (custom_reward_function.name); it defines {found}")
    _check_signature(func, key, name)
    return func


def _check_signature(func: Callable[..., Any], key: str, name: str) -> None:
    try:
        inspect.signature(func).bind(data_source="x", solution_str="x", ground_truth="x", extra_info={})
    except TypeError as exc:
        raise ConfigError(
            f"{key}: {name}{inspect.signature(func)} cannot be called as verl calls it, "
            f"{name}(data_source=..., solution_str=..., ground_truth=..., extra_info=...): {exc}"
        ) from None


class VerlRewardFunction:
    """A verl ``compute_score`` as a TRL reward function: one call per response, guarded (see module docstring)."""

    def __init__(self, func: Callable[..., Any], path: str | None, timeout_s: float):
        self.func = func
        self.path = path
        self.timeout_s = timeout_s
        self.__name__ = getattr(func, "__name__", "custom_reward")

    def __call__(self, prompts: Any = None, completions: Sequence[Any] = (), **columns: Any) -> list[float]:
        from deepscaler_grpo.reward.scoring import completion_text

        rows = [self._row(i, completion_text(c), columns) for i, c in enumerate(completions)]
        results: list[Any] = [None] * len(rows)
        failure: list[tuple[int, BaseException]] = []
        progress = [0]

        def work() -> None:
            for i, row in enumerate(rows):
                progress[0] = i
                try:
                    results[i] = self.func(**row)
                except Exception as exc:  # noqa: BLE001 - reported below with the row
                    failure.append((i, exc))
                    return

        thread = threading.Thread(target=work, name=f"reward-{self.__name__}", daemon=True)
        thread.start()
        thread.join(self.timeout_s)
        if thread.is_alive():
            raise RewardFunctionError(self._where(progress[0], rows) + f" did not return within reward.custom_timeout_s="
                                      f"{self.timeout_s:g} s; fix the function or raise the limit")
        if failure:
            i, exc = failure[0]
            raise RewardFunctionError(self._where(i, rows) + f" raised {type(exc).__name__}: {_one_line(exc)}")
        return [self._score(i, value, rows) for i, value in enumerate(results)]

    @staticmethod
    def _row(i: int, text: str, columns: dict[str, Any]) -> dict[str, Any]:
        from deepscaler_grpo.problems import accepted_answers, ground_truth

        row = {key: values[i] for key, values in columns.items() if isinstance(values, (list, tuple)) and i < len(values)}
        answers = accepted_answers(row)
        extra = row.get("extra_info")
        return {"data_source": row.get("data_source"), "solution_str": text,
                "ground_truth": ground_truth(answers) if answers else None,
                "extra_info": dict(extra) if isinstance(extra, dict) else extra}

    def _score(self, i: int, value: Any, rows: list[dict[str, Any]]) -> float:
        score = value.get("score") if isinstance(value, dict) else value
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            shown = repr(value)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise RewardFunctionError(self._where(i, rows) + f" returned {shown}; it must return a finite number or "
                                      "a dict with a numeric 'score'")
        return float(score)

    def _where(self, i: int, rows: list[dict[str, Any]]) -> str:
        source = rows[i]["data_source"] if i < len(rows) else None
        return (f"custom reward {self.__name__} ({self.path}) on row {i} of the batch"
                + (f" (data_source {source!r})" if source is not None else ""))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


__all__ = ["Reward", "RewardFunctionError", "accuracy_index", "build_rewards", "builtin_factories",
           "check_reward_names", "load_custom_function"]
