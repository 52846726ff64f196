"""A verl-style reward for the dynamic-sampling tests: by the answer's class, ``answer % 3 == 0`` is always right (1),
``== 1`` always wrong (0), ``== 2`` scores the response's share of digits (varies within a group)."""


def compute_score(data_source, solution_str, ground_truth, extra_info=None):
    answer = int(ground_truth)
    if answer % 3 == 0:
        return 1.0
    if answer % 3 == 1:
        return 0.0
    return sum(ch.isdigit() for ch in solution_str) / max(len(solution_str), 1)
