"""Which verdicts an evaluation reports: the strict verifier policy (the headline: no rounded decimal equals an exact
value, so the numbers compare with other tools'), the policy the model was trained with beside it, and optionally
math-verify's verdict on the same extracted answers.

* :func:`training_policy`: from ``--training-policy`` (a run folder, its ``config.yaml``, or ``KEY=VALUE,...`` with
  the ``VerifierPolicy`` field names), else from the run the adapter belongs to (``RUN/global_step_N/adapter`` ->
  ``RUN/config.yaml``, keys ``reward.*``); None when neither says.
* :func:`math_verify_verdicts`: math-verify (``math_verify.parse`` / ``verify``) grades the answer our extractor found
  (so a disagreement is the grader's, not the extraction's) in a separate process with a memory cap and its own
  timeouts, killed when an answer overruns its deadline: it cannot hang an evaluation.

    strict, training, source = verifier_policies(adapter="runs/x/global_step_50/adapter", spec=None)
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscaler_grpo.errors import UserError
from deepscaler_grpo.reward.policy import Grading
from deepscaler_grpo.reward.sandbox import Worker, worker_env

if TYPE_CHECKING:
    from deepscaler_grpo.reward import VerifierPolicy

GRADING_FIELDS = ("decimal_digits", "units", "order_from_prompt", "timeout_s")
MATH_VERIFY_TIMEOUT_S = 5
MATH_VERIFY_MEMORY_MB = 2048


class PolicyError(UserError):
    """A ``--training-policy`` that cannot be read; the message shows the accepted forms."""


# ------------------------------------------------------------------------------------------------- policies


def verifier_policies(adapter: str | None, spec: str | None) -> tuple[VerifierPolicy, VerifierPolicy | None, str]:
    """(the strict headline policy, the training policy or None, where the training policy came from)."""
    from deepscaler_grpo.reward import VerifierPolicy

    strict = VerifierPolicy.strict()
    if spec:
        return strict, parse_policy_spec(spec, strict), spec
    config = run_config_of(adapter)
    if config is not None:
        return strict, policy_from_run_config(config, strict), str(config)
    return strict, None, ""


def grades_alike(a: VerifierPolicy, b: VerifierPolicy | None) -> bool:
    """True when ``b`` is None or accepts exactly what ``a`` accepts (the grading fields agree)."""
    return b is None or all(getattr(a, name) == getattr(b, name) for name in GRADING_FIELDS)


def run_config_of(adapter: str | None) -> Path | None:
    """``RUN/config.yaml`` for an adapter saved by training at ``RUN/global_step_N/adapter``."""
    if not adapter:
        return None
    path = Path(adapter).expanduser().resolve()
    candidate = path.parent.parent / "config.yaml"
    return candidate if path.parent.name.startswith("global_step_") and candidate.is_file() else None


def policy_from_run_config(path: Path, base: VerifierPolicy) -> VerifierPolicy:
    """The ``reward.*`` policy keys of a run's config.yaml on top of ``base`` (older runs may lack some keys)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read the training policy from {path}: {exc}") from None
    reward = data.get("reward") if isinstance(data, dict) else None
    return _replace(base, reward if isinstance(reward, dict) else {}, str(path))


def parse_policy_spec(spec: str, base: VerifierPolicy) -> VerifierPolicy:
    """``--training-policy``: a run folder or config.yaml, or ``decimal_digits=4,units=false``."""
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "config.yaml").is_file():
        return policy_from_run_config(path / "config.yaml", base)
    if path.is_file():
        return policy_from_run_config(path, base)
    fields: dict[str, Any] = {}
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        key, sep, value = item.partition("=")
        if not sep:
            raise PolicyError(f"--training-policy {spec!r}: give a run folder, its config.yaml, or KEY=VALUE pairs "
                              "such as decimal_digits=4,units=false")
        fields[key.strip()] = _yaml_value(value.strip())
    return _replace(base, fields, "--training-policy")


def _yaml_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _replace(base: VerifierPolicy, fields: dict[str, Any], source: str) -> VerifierPolicy:
    names = {f.name for f in dataclasses.fields(base)}
    known = {k: v for k, v in fields.items() if k in names}
    unknown = sorted(set(fields) - names) if source == "--training-policy" else []
    if unknown:
        raise PolicyError(f"--training-policy: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    try:
        return dataclasses.replace(base, **known)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"training policy from {source}: {exc}") from None


def training_verdicts(preds: Sequence[str | None], truths: Sequence[Any], questions: Sequence[str | None],
                      policy: VerifierPolicy) -> list[bool]:
    """The training policy's verdicts on the answers already extracted for the headline verdicts."""
    from deepscaler_grpo.reward import check_many

    return [v.correct for v in check_many(list(preds), list(truths), policy=policy, questions=list(questions))]


# ----------------------------------------------------------------------------------------------- math-verify


def math_verify_verdicts(preds: Sequence[str | None], truths: Sequence[Any],
                         timeout_s: int = MATH_VERIFY_TIMEOUT_S) -> list[bool]:
    """math-verify's verdict on each extracted answer (False when there is none, or on a timeout or error)."""
    worker: MathVerifyWorker | None = None
    verdicts = []
    try:
        for pred, truth in zip(preds, truths, strict=True):
            if pred is None:
                verdicts.append(False)
                continue
            worker = worker or MathVerifyWorker()
            reply = worker.ask(pred, [str(g) for g in (truth if isinstance(truth, list) else [truth])],
                               2 * timeout_s + 5.0, Grading())
            if reply is None:  # overran every timeout inside the worker: kill it, the next answer gets a new one
                worker.kill()
                worker = None
            verdicts.append(bool(reply and reply.get("ok")))
    finally:
        if worker is not None:
            worker.kill()
    return verdicts


class MathVerifyWorker(Worker):
    """The verifier's worker plumbing (line protocol, deadlines, SIGKILL) around this module's math-verify loop."""

    def __init__(self, startup_timeout_s: float = 120.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deepscaler_grpo.evaluation.verdicts"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=worker_env(MATH_VERIFY_MEMORY_MB), bufsize=0,
            start_new_session=True)
        self._buffer = b""
        ready = self._read_line(time.monotonic() + startup_timeout_s)
        if ready is None or not json.loads(ready).get("ready"):
            self.kill()
            raise UserError("math-verify could not start in a worker process: pip install 'math-verify[antlr4_13_2]'")


def math_verify_equal(pred: str, golds: list[str], timeout_s: int = MATH_VERIFY_TIMEOUT_S) -> bool:
    """In the worker: math-verify's parse + verify with its own (signal) timeouts; any gold may match."""
    from math_verify import parse, verify

    target = parse(f"${pred}$", parsing_timeout=timeout_s)
    return any(verify(parse(f"${gold}$", parsing_timeout=timeout_s), target, timeout_seconds=timeout_s)
               for gold in golds)


def serve() -> int:
    """The worker loop: ``{"pred", "gold"}`` lines in, ``{"ok"}`` lines out (the protocol of reward.worker)."""
    from deepscaler_grpo.reward.worker import limit_memory, watch_parent

    limit_memory(MATH_VERIFY_MEMORY_MB * 2**20)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # library prints must not corrupt the protocol
    math_verify_equal("1", ["1"])  # import sympy and the parsers before saying ready
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = {"ok": math_verify_equal(str(request["pred"]), [str(g) for g in request["gold"]])}
        except Exception as exc:  # noqa: BLE001 - a failure is a wrong answer, never a crash
            reply = {"ok": False, "error": type(exc).__name__}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
