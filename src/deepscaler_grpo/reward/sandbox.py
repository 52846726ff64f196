"""A pool of long-lived verifier worker processes with a hard wall-clock limit per answer.

Each worker is a plain subprocess (``python -m deepscaler_grpo.reward.worker``) spoken to with
JSON lines, so it works from any thread, from daemonic processes and after ``fork``; it needs no
``if __name__ == "__main__"`` guard in the caller. A request that misses its deadline gets its
worker killed (SIGKILL: it may be deep in big-integer arithmetic that no signal handler can
interrupt); a fresh worker replaces it on next use. Pools are per process id and are closed at
exit, and workers also exit by themselves when their parent dies.

    pool = pool_for(VerifierPolicy())       # one pool per (process, workers, max_memory_mb)
    pool.check("\\\\frac{1}{2}", ["0.5"], timeout_s=5.0, grading=Grading())   # -> Outcome(True, "ok")

Every request carries its ``Grading`` (the policy's grading switches), so a worker never keeps a setting
from one request to the next.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from deepscaler_grpo.reward.policy import DEFAULT_MAX_MEMORY_MB, ENV_MAX_MEMORY, ENV_WORKERS, Grading, VerifierPolicy

DEFAULT_STARTUP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Outcome:
    """Result of one symbolic check: ``status`` is ok | timeout | error | busy."""

    correct: bool
    status: str


def default_pool_size(cpu_count: int | None = None, local_processes: int | None = None) -> int:
    """$DEEPSCALER_VERIFIER_WORKERS, else between 2 and 8 following the CPU count; with several training
    processes on this machine ($LOCAL_WORLD_SIZE, set by torchrun/accelerate) each gets its share of the
    cores (at least 1), so the pools together do not oversubscribe the machine."""
    env = os.environ.get(ENV_WORKERS, "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    cpus = cpu_count or os.cpu_count() or 2
    local_env = os.environ.get("LOCAL_WORLD_SIZE", "")
    local = local_processes or (int(local_env) if local_env.isdigit() else 1)
    if local > 1:
        return max(1, min(8, cpus // local))
    return max(2, min(8, cpus))


def worker_env(max_memory_mb: int) -> dict[str, str]:
    env = dict(os.environ)
    env[ENV_MAX_MEMORY] = str(max_memory_mb * 2**20)  # the worker caps its own address space (bytes)
    src_dir = str(Path(__file__).resolve().parents[2])  # importable even without `pip install`
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src_dir, env.get("PYTHONPATH", "")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


class Worker:
    """One worker subprocess and its line-buffered pipe."""

    def __init__(
        self, startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S, max_memory_mb: int = DEFAULT_MAX_MEMORY_MB
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deepscaler_grpo.reward.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=worker_env(max_memory_mb),
            bufsize=0,
            start_new_session=True,  # Ctrl-C in a terminal goes to the parent only
        )
        self._buffer = b""
        ready = self._read_line(time.monotonic() + startup_timeout_s)
        if ready is None or not json.loads(ready).get("ready"):
            self.kill()
            raise RuntimeError("verifier worker failed to start (is deepscaler_grpo importable?)")

    def _read_line(self, deadline: float) -> bytes | None:
        """One line from the worker before ``deadline``; None on timeout or end of stream."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def ask(self, pred: str, golds: list[str], timeout_s: float, grading: Grading) -> dict | None:
        """Send one request; the reply dict, or None when it timed out or the worker died."""
        assert self.proc.stdin is not None
        deadline = time.monotonic() + timeout_s
        request = {"pred": pred, "gold": golds, "grading": grading.as_request()}
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            line = self._read_line(deadline)
            return None if line is None else json.loads(line)
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL and reap; safe to call twice."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close() if stream else None
            except OSError:
                pass


class WorkerPool:
    """Up to ``size`` workers, started lazily, shared by any number of threads."""

    def __init__(
        self, size: int, startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
        max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
    ) -> None:
        if size < 1:
            raise ValueError(f"pool size must be >= 1, got {size}; set VerifierPolicy.workers")
        self.size = size
        self.max_memory_mb = max_memory_mb
        self.startup_timeout_s = startup_timeout_s
        self.pid = os.getpid()
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._workers: set[Worker] = set()
        self._closed = False

    def _spawn(self) -> Worker | None:
        try:
            worker = Worker(self.startup_timeout_s, self.max_memory_mb)
        except (OSError, RuntimeError):
            return None
        with self._lock:
            if self._closed:
                worker.kill()
                return None
            self._workers.add(worker)
        return worker

    def _acquire(self, wait_s: float) -> Worker | None:
        """An idle worker, a newly started one if the pool has room, or None after ``wait_s``."""
        deadline = time.monotonic() + max(wait_s, 0.0)
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                can_spawn = not self._closed and len(self._workers) < self.size
                if can_spawn:
                    placeholder = _Placeholder()
                    self._workers.add(placeholder)
            if can_spawn:
                worker = self._spawn()
                with self._lock:
                    self._workers.discard(placeholder)
                return worker
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed:
                return None
            try:  # short waits: a retired worker frees a slot without touching the queue
                return self._idle.get(timeout=min(remaining, 0.05))
            except queue.Empty:
                continue

    def _retire(self, worker: Worker) -> None:
        """Kill a worker and start its replacement in the background (so no caller waits for it)."""
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
        threading.Thread(target=self._replenish, daemon=True).start()

    def _replenish(self) -> None:
        worker = self._acquire(0.0)
        if worker is not None:
            self._idle.put(worker)

    def check(self, pred: str, golds: list[str], timeout_s: float, grading: Grading | None = None) -> Outcome:
        """Symbolic equivalence in a worker, killed if it runs past ``timeout_s`` seconds.

        ``grading``: the switches of this request (None: the documented defaults, ``Grading()``).
        """
        worker = self._acquire(timeout_s)
        if worker is None:
            return Outcome(False, "busy" if not self._closed else "error")
        reply = worker.ask(pred, golds, timeout_s, grading or Grading())
        if reply is None:
            self._retire(worker)
            return Outcome(False, "timeout")
        self._idle.put(worker)
        return Outcome(bool(reply.get("ok")), "error" if reply.get("error") else "ok")

    def warm_up(self) -> None:
        """Start all workers now (they otherwise start on first use)."""
        started = []
        for _ in range(self.size):
            worker = self._acquire(0.0)
            if worker is not None:
                started.append(worker)
        for worker in started:
            self._idle.put(worker)

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.proc.pid for w in self._workers if isinstance(w, Worker)]

    def close(self) -> None:
        """Kill every worker (only from the process that created the pool)."""
        with self._lock:
            self._closed = True
            workers = [w for w in self._workers if isinstance(w, Worker)]
            self._workers.clear()
        if os.getpid() == self.pid:
            for worker in workers:
                worker.kill()


class _Placeholder:
    """Reserves a pool slot while a worker starts (starting takes a second or two)."""


class _Registry:
    """One pool per (process id, size, memory cap): a forked child gets its own; closed at interpreter exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pools: dict[tuple[int, int, int], WorkerPool] = {}
        self.atexit_registered = False

    def get(self, size: int | None, max_memory_mb: int | None = None) -> WorkerPool:
        key = (os.getpid(), size or default_pool_size(), max_memory_mb or DEFAULT_MAX_MEMORY_MB)
        with self.lock:
            pool = self.pools.get(key)
            if pool is None or pool._closed:
                pool = self.pools[key] = WorkerPool(key[1], max_memory_mb=key[2])
            if not self.atexit_registered:
                atexit.register(self.close_all)
                self.atexit_registered = True
            return pool

    def close_all(self) -> None:
        with self.lock:
            pools = [p for key, p in self.pools.items() if key[0] == os.getpid()]
            self.pools = {key: p for key, p in self.pools.items() if key[0] != os.getpid()}
        for pool in pools:
            pool.close()


_REGISTRY = _Registry()  # process-wide: worker processes are a per-process resource


def get_pool(size: int | None = None, registry: _Registry = _REGISTRY, max_memory_mb: int | None = None) -> WorkerPool:
    """This process's shared worker pool of ``size`` workers (None: ``default_pool_size()``) capped at
    ``max_memory_mb`` each (None: the default 3072), created on first use."""
    return registry.get(size, max_memory_mb)


def pool_for(policy: VerifierPolicy) -> WorkerPool:
    """The pool of ``policy.workers`` workers capped at ``policy.max_memory_mb`` each."""
    return get_pool(policy.workers, max_memory_mb=policy.max_memory_mb)


def shutdown(registry: _Registry = _REGISTRY) -> None:
    """Kill this process's workers now (they are also killed at exit)."""
    registry.close_all()
