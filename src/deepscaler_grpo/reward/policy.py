"""Every setting of the verifier in one frozen, picklable value: ``VerifierPolicy``.

    from deepscaler_grpo.reward import VerifierPolicy, compute_score
    policy = VerifierPolicy(decimal_digits=0, timeout_s=2.0)       # or .strict() / .from_env()
    compute_score("math", response, gold, policy=policy)
    policy.as_dict()                                               # for eval provenance and config.yaml

Every public entry point of ``deepscaler_grpo.reward`` takes ``policy=`` (None: ``VerifierPolicy.from_env()``).
The grading fields (``decimal_digits``, ``units``, ``order_from_prompt``) travel inside every request to the
worker processes as a ``Grading`` (see ``grading``); ``workers`` and ``max_memory_mb`` select the worker pool;
``timeout_s`` bounds each symbolic check. The environment variables below are read by ``from_env`` only, as
defaults: nothing reads them behind a caller's back.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

DEFAULT_DECIMAL_DIGITS = 0
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_MEMORY_MB = 3072
MIN_MEMORY_MB = 256  # sympy, latex2sympy and the ANTLR runtime need about this much address space to start
ENV_DECIMAL_DIGITS = "DEEPSCALER_VERIFIER_DECIMAL_DIGITS"
ENV_WORKERS = "DEEPSCALER_VERIFIER_WORKERS"
ENV_MAX_MEMORY = "DEEPSCALER_VERIFIER_MAX_MEMORY"  # bytes, as it always was


@dataclass(frozen=True)
class Grading:
    """The grading switches of one check, sent to the worker with every request (``as_request``).

    Built by ``VerifierPolicy.grading(question)``; a request without a field gets the default here, never a
    value left over from an earlier request.
    """

    decimal_digits: int = DEFAULT_DECIMAL_DIGITS  # see VerifierPolicy.decimal_digits
    units: bool = True  # see VerifierPolicy.units
    ordered: bool = False  # the question asks for an order: bare lists are compared in order

    def as_request(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_request(cls, fields: Any) -> Grading:
        """The Grading of a worker request: known fields of the right type, defaults for the rest."""
        fields = fields if isinstance(fields, dict) else {}
        digits = fields.get("decimal_digits")
        return cls(
            decimal_digits=digits if isinstance(digits, int) and not isinstance(digits, bool) and digits >= 0
            else DEFAULT_DECIMAL_DIGITS,
            units=fields.get("units") if isinstance(fields.get("units"), bool) else True,
            ordered=fields.get("ordered") is True,
        )


@dataclass(frozen=True)
class VerifierPolicy:
    """How answers are graded and with which resources. Frozen and picklable; ``as_dict`` records it."""

    decimal_digits: int = DEFAULT_DECIMAL_DIGITS
    """Minimum significant digits for a rounded decimal to equal an exact non-terminating value (``0.667`` for
    ``\\frac23``, ``2.3148\\times10^{-3}`` for ``\\frac{1}{432}``, in either direction and inside lists);
    0 = strict: a decimal never equals an exact non-terminating value."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Hard wall-clock limit per symbolic check, in seconds (the worker is killed past it)."""
    workers: int | None = None
    """Worker processes for symbolic checks; None: the pool's CPU-based default (2-8, divided among the
    training processes of this machine)."""
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB
    """Address-space limit (RLIMIT_AS) of each worker process, in MiB."""
    units: bool = True
    """When both answers carry a unit, the units must agree or convert exactly (``1 km`` = ``1000 m``,
    ``10 km`` != ``10 m``); False: units are stripped unread, as before. A unit on one side only is stripped."""
    order_from_prompt: bool = True
    """When the question asks for an order (``in increasing order``, ``ordered pair``, ``respectively``, ``find
    a, b and c``), bare lists are compared in order; False: bare lists are always unordered."""

    def __post_init__(self) -> None:
        _check_int("decimal_digits", self.decimal_digits, 0, "0 for strict, e.g. 4 to accept 4-digit decimals")
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, (int, float)) or not (
            math.isfinite(self.timeout_s) and self.timeout_s > 0
        ):
            raise ValueError(f"VerifierPolicy.timeout_s must be a number of seconds > 0, got {self.timeout_s!r}")
        if self.workers is not None:
            _check_int("workers", self.workers, 1, "or None for the CPU-based default")
        _check_int("max_memory_mb", self.max_memory_mb, MIN_MEMORY_MB, f"default {DEFAULT_MAX_MEMORY_MB}")
        for name in ("units", "order_from_prompt"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"VerifierPolicy.{name} must be True or False, got {getattr(self, name)!r}")

    @classmethod
    def from_env(cls) -> VerifierPolicy:
        """The defaults, with $DEEPSCALER_VERIFIER_DECIMAL_DIGITS, _WORKERS and _MAX_MEMORY (bytes) where set."""
        fields: dict[str, Any] = {}
        digits, workers, memory = (os.environ.get(name, "").strip() for name in
                                   (ENV_DECIMAL_DIGITS, ENV_WORKERS, ENV_MAX_MEMORY))
        if digits:
            fields["decimal_digits"] = _env_int(ENV_DECIMAL_DIGITS, digits)
        if workers:
            fields["workers"] = _env_int(ENV_WORKERS, workers)
        if memory:
            fields["max_memory_mb"] = _env_int(ENV_MAX_MEMORY, memory) // 2**20
        return cls(**fields)

    @classmethod
    def strict(cls) -> VerifierPolicy:
        """``from_env()`` with every approximation off: no rounded decimal equals an exact value."""
        return dataclasses.replace(cls.from_env(), decimal_digits=0)

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-able."""
        return dataclasses.asdict(self)

    def grading(self, question: str | None = None) -> Grading:
        """The grading switches for one answer; ``question`` (the problem text) may ask for an order."""
        from deepscaler_grpo.reward.question import asks_for_order

        ordered = self.order_from_prompt and asks_for_order(question)
        return Grading(decimal_digits=self.decimal_digits, units=self.units, ordered=ordered)


def resolve(policy: VerifierPolicy | None, timeout_s: float | None = None) -> VerifierPolicy:
    """``policy`` (None: ``from_env()``) with an explicit ``timeout_s`` (the older keyword) taking precedence."""
    policy = VerifierPolicy.from_env() if policy is None else policy
    if not isinstance(policy, VerifierPolicy):
        raise TypeError(f"policy must be a VerifierPolicy, got {type(policy).__name__}")
    return policy if timeout_s is None else dataclasses.replace(policy, timeout_s=timeout_s)


def _check_int(name: str, value: Any, minimum: int, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"VerifierPolicy.{name} must be an integer >= {minimum} ({hint}), got {value!r}")


def _env_int(name: str, value: str) -> int:
    if not value.isdigit():
        raise ValueError(f"${name}={value!r} is not a whole number; unset it or set e.g. {name}=4")
    return int(value)
