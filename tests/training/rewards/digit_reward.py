"""A reward written as a verl user writes it (``custom_reward_function.path`` / ``.name``), for the tests: the share
of digit characters in the response, so a random tiny model gets varied rewards and its LoRA weights move.
``raising``, ``hanging`` and ``junk`` are the broken rewards the run must stop on with a clear message."""

import time


def compute_score(data_source, solution_str, ground_truth, extra_info=None):
    return {"score": sum(ch.isdigit() for ch in solution_str) / max(len(solution_str), 1), "acc": False}


def raising(data_source, solution_str, ground_truth, extra_info=None):
    raise ValueError(f"cannot score {data_source}")


def hanging(data_source, solution_str, ground_truth, extra_info=None):
    time.sleep(3600)
    return 0.0


def junk(data_source, solution_str, ground_truth, extra_info=None):
    return "high"
