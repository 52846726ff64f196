"""Verifier worker process: reads JSON requests on stdin, answers JSON lines on stdout.

Started by ``sandbox.WorkerPool`` as ``python -m deepscaler_grpo.reward.worker``; not meant to be
run by hand. Protocol (one line each way, JSON only, never pickle):

    -> {"pred": "\\\\frac{1}{2}", "gold": ["0.5"], "grading": {"decimal_digits": 0, "units": true, "ordered": false}}
    <- {"ok": true}            or   {"ok": false, "error": "..."}

``grading`` holds every grading switch of the request (``policy.Grading``); a missing field gets its documented
default (``Grading()``), never the previous request's value: the worker keeps no setting between requests.

The first line it writes is ``{"ready": true}`` once sympy/math-verify are imported, so import time
never counts against an answer's deadline. The process caps its own memory (RLIMIT_AS) and exits
when its parent dies or closes stdin, so no stray process outlives the caller.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import TextIO


def limit_memory(max_bytes: int) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    except (ImportError, ValueError, OSError):  # not Linux, or a lower hard limit already
        pass


def watch_parent(parent_pid: int, interval_s: float = 0.5) -> None:
    """Exit as soon as the parent is gone (re-parented to init or a subreaper)."""
    while True:
        time.sleep(interval_s)
        if os.getppid() != parent_pid:
            os._exit(0)


def serve(stdin: TextIO, stdout: TextIO) -> None:
    """The request loop; one request at a time, stops at end of input."""
    from deepscaler_grpo.reward.policy import Grading
    from deepscaler_grpo.reward.symbolic import symbolic_equal

    symbolic_equal("\\frac{x^2+1}{2}", ["(1+x^2)/2", "\\{1,2\\}"])  # load sympy's lazy parts before "ready"
    stdout.write(json.dumps({"ready": True}) + "\n")
    stdout.flush()
    for line in stdin:
        try:
            request = json.loads(line)
            golds = [str(g) for g in request["gold"]]
            grading = Grading.from_request(request.get("grading"))
            reply = {"ok": bool(symbolic_equal(str(request["pred"]), golds, grading))}
        except MemoryError:
            reply = {"ok": False, "error": "memory"}
        except Exception as exc:  # noqa: BLE001 - any failure is a wrong answer, never a crash
            reply = {"ok": False, "error": type(exc).__name__}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


def main() -> int:
    value = os.environ.get("DEEPSCALER_VERIFIER_MAX_MEMORY", "")  # set by the pool from VerifierPolicy.max_memory_mb
    max_bytes = int(value) if value.isdigit() else 3 * 1024**3
    limit_memory(max_bytes)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # stray prints from libraries must not corrupt the protocol
    serve(sys.stdin, protocol_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
