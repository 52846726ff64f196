"""deepscaler_grpo.threads: CPU threads of a single-process run."""

from __future__ import annotations

from deepscaler_grpo.threads import choose_cpu_threads, idle_cores


def test_busy_cores_are_left_out() -> None:
    assert idle_cores(2, load=0.1) == 2 and idle_cores(2, load=1.2) == 1 and idle_cores(2, load=7.0) == 1
    assert idle_cores(16, load=4.0) == 12


def test_an_explicit_setting_wins() -> None:
    assert choose_cpu_threads(3, environ={"OMP_NUM_THREADS": "1"}) == 3
    assert choose_cpu_threads(None, environ={"OMP_NUM_THREADS": "1"}) == 1
    assert choose_cpu_threads(None, environ={"OMP_NUM_THREADS": "x"}) >= 1
