"""placeholder"""


def big_number_verdict(pred: str, gold: str) -> bool | None:
    return None
