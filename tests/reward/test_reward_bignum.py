"""Issue 20, class 4: huge exact numbers, compared exactly without expanding them.

Powers, products, quotients, factorials and binomials whose values have thousands of digits are refused by
the symbolic size guard; ``bignum`` compares them exactly (modular fingerprints) instead. Rows are
``(gold, pred, expected)``; near misses change one exponent, one coefficient or one sign.
"""

from __future__ import annotations

import pytest

from deepscaler_grpo.reward import check, verify

from .reward_tables import both_ways

HUGE = both_ways([
    (r"2\cdot3^{2008}", r"6\times3^{2007}", True),
    (r"2\cdot3^{2008}", r"6\times3^{2008}", False),
    (r"\frac{2^{1009}}{2^{1009}+1009}", r"\frac{2^{1009}}{1009+2^{1009}}", True),
    (r"\frac{2^{1009}}{2^{1009}+1009}", r"\frac{2^{1009}}{2^{1009}+2018}", False),
    ("2^{2024}", "4^{1012}", True),
    ("2^{2024}", "4^{1013}", False),
    ("10^{1000}+1", "1+10^{1000}", True),
    ("10^{1000}+1", "10^{1000}-1", False),
    (r"\frac{3^{2010}-1}{2}", r"\frac{1}{2}(3^{2010}-1)", True),
    (r"\frac{3^{2010}-1}{2}", r"\frac{3^{2010}+1}{2}", False),
    ("2^{1000}", r"2^{999}\cdot 2", True),
    ("2^{1000}", "2^{999}+2^{999}", True),
    ("2^{1000}", "2^{999}+2^{998}", False),
    ("6^{1000}", r"2^{1000}\cdot 3^{1000}", True),
    ("6^{1000}", r"2^{1000}\cdot 3^{999}", False),
    ("(2^{1000}+1)^2", "2^{2000}+2^{1001}+1", True),
    ("(2^{1000}+1)^2", "2^{2000}+2^{1000}+1", False),
    (r"\binom{2000}{1000}", r"\frac{2000!}{1000!\,1000!}", True),
    (r"\binom{2000}{1000}", r"\frac{2000!}{999!\,1001!}", False),
    ("2^{1000}", str(2**1000), True),
    ("2^{1000}", str(2**1000 + 1), False),
    ("-5^{3001}", r"-5\cdot 25^{1500}", True),
    ("-5^{3001}", r"5\cdot 25^{1500}", False),
])


@pytest.mark.parametrize(("gold", "pred", "expected"), HUGE)
def test_huge_numbers(gold: str, pred: str, expected: bool) -> None:
    verdict = check(pred, gold)
    assert verdict.correct is expected, verdict
    assert verdict.method == "fast"  # decided in-process, no symbolic work


@pytest.mark.parametrize("pred", ["2^{10^{9}}", "10^{99999999}", r"99999999!", r"\binom{10^{9}}{5}"])
def test_towers_stay_refused(pred: str) -> None:
    assert verify(pred, "2^{1000}") is False
