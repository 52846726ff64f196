"""Adversarial inputs: hard time bound, no code execution, no stray processes, threads and processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from deepscaler_grpo.reward import check, compute_score, get_pool, verify
from deepscaler_grpo.reward.policy import Grading
from deepscaler_grpo.reward.symbolic import is_safe_for_symbolic, symbolic_equal

TIMEOUT_S = 1.0
SLACK_S = 4.0  # kill + reap on a loaded 2-core machine

HOSTILE = [
    "10^{10^{10}}",
    "2^{2^{2^{2^{2^{2}}}}}",
    "9" * 1_000_000,
    "{" * 100_000 + "1" + "}" * 100_000,
    "\\frac{" * 50_000 + "1" + "}{2}" * 50_000,
    "(x+y+z+1)^{40}",  # passes the size guard, then runs for seconds in sympy: killed
    "100000!",
    "\\sum_{k=1}^{10^{12}} k^{k}",
    "x^{99999999}",
    "1.5e99999999",
    "\\sqrt{" * 5000 + "2" + "}" * 5000,
    "\\left(" * 3000 + "1" + "\\right)" * 3000,
    "\\begin{pmatrix}" + "1&" * 20000 + "1\\end{pmatrix}",
]


@pytest.mark.parametrize("pred", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_answers_return_within_the_bound(pred: str) -> None:
    get_pool().warm_up()
    start = time.monotonic()
    result = compute_score("x", f"<answer>{pred}</answer>", "x+2", timeout_s=TIMEOUT_S)
    elapsed = time.monotonic() - start
    assert result["acc"] is False and result["score"] == 0.0
    assert elapsed < TIMEOUT_S + SLACK_S


@pytest.mark.parametrize(
    "pred", ["(x+y+z+1)^{40}", "\\sqrt{2}^{\\sqrt{2}^{\\sqrt{2}^{99}}}", "9" * 300 + ".5", "0." + "3" * 5000]
)
def test_decimal_policy_paths_are_bounded(pred: str) -> None:
    """A decimal gold makes the worker evaluate the answer numerically: still under the hard limit."""
    get_pool().warm_up()
    start = time.monotonic()
    result = compute_score("x", f"<answer>{pred}</answer>", "0.866", timeout_s=TIMEOUT_S, decimal_digits=3)
    assert result["acc"] is False
    assert time.monotonic() - start < TIMEOUT_S + SLACK_S


LONG_FORMS = [  # inputs near the fast path's length cap aimed at the issue-12 rewrites' regexes
    "1 " * 999 + "!",
    "1" * 500 + " " + "a " * 700 + "1",
    "\\{x \\mid " + "1 < " * 400 + "\\}",
    "x < 1 or " * 200,
    "a" * 1000 + " : " + "b" * 900,
    "\\angle " + "A " * 900 + "= 1",
    "1 \\mathrm{" + "m s " * 450 + "}",
    "x=1, " * 380,
    "t(" + "1," * 900 + "]",
]


@pytest.mark.parametrize("pred", LONG_FORMS, ids=range(len(LONG_FORMS)))
def test_rewrites_stay_fast_on_long_inputs(pred: str) -> None:
    from deepscaler_grpo.reward.fast import fast_verdict

    start = time.monotonic()
    for gold in ("1", "40 \\text{ apples}, 60 \\text{ pears}", "(1, 3]"):
        fast_verdict(pred[:2000], gold)
        fast_verdict(gold, pred[:2000])
    assert time.monotonic() - start < 1.0


def test_several_symbolic_groups_share_one_time_limit() -> None:
    """Golds that rewrite the answer differently make several worker calls: together under the limit."""
    from deepscaler_grpo.reward.checking import symbolic_check

    get_pool().warm_up()
    slow = "(x+y+z+w+1)^{30} = 0"
    start = time.monotonic()
    verdict = symbolic_check(((slow, ("x+3=0",)), (slow + " ", ("x+4=0",)), (slow + "  ", ("x+5=0",))), TIMEOUT_S)
    assert verdict.correct is False and verdict.method == "timeout"
    assert time.monotonic() - start < TIMEOUT_S + SLACK_S


def test_slow_symbolic_work_is_killed_and_the_worker_replaced() -> None:
    pool = get_pool()
    pool.warm_up()
    start = time.monotonic()
    verdict = check("(x+y+z+w+1)^{30} = 0", "x+3=0", timeout_s=TIMEOUT_S)  # no cheap disproof for equations
    assert verdict.method == "timeout" and verdict.correct is False
    assert time.monotonic() - start < TIMEOUT_S + SLACK_S
    assert verify("n^2-n", "n(n-1)") is True  # the pool still works after a kill


def _payloads(marker: Path) -> list[str]:
    cmd = f"touch {marker}"
    core = [
        f"__import__('os').system('{cmd}')",
        f'__import__("os").system("{cmd}")',
        f"eval(\"__import__('os').system('{cmd}')\")",
        f"exec(\"import os; os.system('{cmd}')\")",
        f"(lambda: __import__('os').system('{cmd}'))()",
        f"__import__('subprocess').call(['touch', '{marker}'])",
        f"open('{marker}', 'w').write('x')",
        f"[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0]('{cmd}', shell=True)",
        f"getattr(__builtins__, '__import__')('os').system('{cmd}')",
    ]
    wrapped = []
    for payload in core:
        wrapped += [payload, f"\\text{{{payload}}}", f"${payload}$", f"x = {payload}", f"1 + {payload}"]
    return wrapped


def test_code_in_answers_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    for payload in _payloads(marker):
        for text in (f"<answer>{payload}</answer>", f"\\boxed{{{payload}}}"):
            assert compute_score("x", text, "0")["acc"] is False
            assert compute_score("x", text, payload.replace(str(marker), "y"))["score"] in (0.0, 1.0)
    assert not marker.exists()


def test_symbolic_grader_never_calls_parse_expr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In-process check of the worker code: model text never reaches sympy's string parser.

    The only parse_expr calls allowed are sympy.Number() on digit tokens already validated by
    latex2sympy's ANTLR lexer (e.g. '12', '0.5', '3e5').
    """
    import latex2sympy2_extended.latex2sympy2 as l2s
    import math_verify.parser as mv_parser
    from sympy.parsing import sympy_parser

    # Import-time sympy constants (e.g. sympy.physics.units prefixes) are not model text: load them first
    # through every path (cheap disproof, tuples, math-verify on an equation).
    symbolic_equal("y+3", ["\\frac{2}{7}", "(3,4)"])
    symbolic_equal("y=3", ["x+1"])
    calls: list[str] = []
    original = sympy_parser.parse_expr

    def spy(text: str, *args: object, **kwargs: object) -> object:
        calls.append(text)
        return original(text, *args, **kwargs)

    for module in (sympy_parser, mv_parser, l2s):
        monkeypatch.setattr(module, "parse_expr", spy)
    preds = _payloads(tmp_path / "PWNED") + ["1/2", "x^2+1", "(1,2)", "2x+3=5", "3 apples", "f(x)=2", "2\\le x"]
    # the issue-12 paths too: decimal policy, imaginary unit, positive symbols, renamed parameters
    preds += ["0.866", "i(2-i)", "\\sqrt{a^2}", "\\frac{\\pi}{6}+k\\pi", "1.41421356", "6m"]
    for pred in preds:
        symbolic_equal(pred, ["x^2+1", "1/2", "\\frac{\\sqrt{3}}{2}", "\\frac{\\pi}{6}+n\\pi", "a"], Grading(decimal_digits=3))
    assert calls, "the spy should see the number tokens"
    assert all(re.fullmatch(r"[\d.]+(?:[eE][+-]?\d+)?", text) for text in calls), calls
    assert not (tmp_path / "PWNED").exists()


def test_size_guard() -> None:
    assert is_safe_for_symbolic("\\frac{\\sqrt{3}}{2}")
    assert not is_safe_for_symbolic("10^{10^{10}}")
    assert not is_safe_for_symbolic("x" * 5000)
    assert not is_safe_for_symbolic("(" * 100 + ")" * 100)


def test_safe_from_many_threads() -> None:
    cases = [("n^2-n", "n(n-1)", True), ("n^2+n", "n(n-1)", False), ("3/4", "0.75", True), ("7", "8", False)] * 6
    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(lambda c: verify(c[0], c[1]), cases))
    assert results == [c[2] for c in cases]


_CHILD = textwrap.dedent(
    """
    import json, sys
    from deepscaler_grpo.reward import get_pool, verify
    ok = verify("x^2+2x+1", "(x+1)^2")
    print(json.dumps({"ok": ok, "pids": get_pool().worker_pids()}), flush=True)
    if sys.argv[1] == "hang":
        verify("(x+y+z+w+1)^{30}", "x", timeout_s=60)
    """
)


def _run_child(mode: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def _gone(pids: list[int], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.1)
    return False


def test_workers_exit_with_their_parent() -> None:
    proc, info = _run_child("exit")
    assert info["ok"] is True and info["pids"]
    assert proc.wait(timeout=60) == 0
    assert _gone(info["pids"], within_s=10)


def test_busy_workers_exit_when_the_parent_is_killed() -> None:
    proc, info = _run_child("hang")
    time.sleep(0.5)  # the worker is now deep in sympy
    os.kill(proc.pid, 9)
    proc.wait(timeout=10)
    assert _gone(info["pids"], within_s=10)


def _verify_in_child(case: tuple[str, str]) -> bool:
    return verify(*case)


def test_safe_from_several_processes() -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    cases = [("n^2-n", "n(n-1)"), ("n^2+n", "n(n-1)"), ("3/4", "0.75"), ("(x+1)^2", "x^2+2x+1")]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as executor:
        assert list(executor.map(_verify_in_child, cases)) == [True, False, True, True]
