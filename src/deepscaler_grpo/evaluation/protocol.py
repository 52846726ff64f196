"""Published evaluation protocols, one flag each: ``eval --protocol deepscaler`` sets DeepScaleR's decoding and
benchmarks and prints their table's layout, with intervals.

DeepScaleR (agentica-org, "DeepScaleR-1.5B-Preview", and rllm's ``scripts/eval/eval_model.sh --n 16
--max-length 32768``): 16 samples per problem at temperature 0.6, top-p 0.95, up to 32,768 response tokens;
pass@1 is the mean accuracy over the 16 samples; AIME 2024 (30), MATH 500, AMC (their 83-problem AMC 2022+2023 set,
labelled "AMC 2023"), Minerva Math and OlympiadBench; "Avg." is the unweighted mean of the five.

Flags given explicitly override the protocol's values (tests use ``--limit``/``--max-tokens`` to run it at tiny
sizes); the overrides are listed in a note, because the numbers are then not comparable with the paper's.

    protocol = PROTOCOLS["deepscaler"]
    values, overrides = resolve(protocol, {"max_tokens": 8, "limit": 2})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Protocol:
    """Decoding and benchmarks of a published evaluation, and the column titles of its table."""

    name: str
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    columns: tuple[tuple[str, str], ...]  # (benchmark name, column title) in the paper's order
    reference: str

    @property
    def benchmarks(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def values(self) -> dict[str, Any]:
        """The eval options this protocol sets."""
        return {"n": self.n, "temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens,
                "benchmarks": ",".join(self.benchmarks)}


def protocols() -> dict[str, Protocol]:
    return {
        "deepscaler": Protocol(
            name="deepscaler", n=16, temperature=0.6, top_p=0.95, max_tokens=32768,
            columns=(("aime24", "AIME 2024"), ("math500", "MATH 500"), ("amc", "AMC 2023"),
                     ("minerva", "Minerva Math"), ("olympiadbench", "OlympiadBench")),
            reference="DeepScaleR-1.5B-Preview: pass@1 averaged over 16 samples (T=0.6, top-p 0.95, 32k tokens)",
        ),
    }


def resolve(protocol: Protocol | None, given: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Each option's value: the flag when given, else the protocol's, else the plain default; and the flags that
    override the protocol (``--max-tokens 8 (protocol: 32768)``), plus ``--limit`` when set."""
    preset = protocol.values() if protocol else {}
    values = {key: given[key] if given.get(key) is not None else preset.get(key, defaults.get(key))
              for key in {*defaults, *preset}}
    overrides = [f"--{key.replace('_', '-')} {given[key]} (protocol: {preset[key]})" for key in preset
                 if given.get(key) is not None and given[key] != preset[key]]
    if protocol and given.get("limit"):
        overrides.append(f"--limit {given['limit']} (protocol: every problem)")
    return values, overrides
