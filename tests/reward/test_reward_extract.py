"""Answer extraction: last <answer> tag, boxed fallback, unwrapping, empty tags."""

from __future__ import annotations

import pytest

from deepscaler_grpo.reward import extract_answer, has_answer_tag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>42</answer>", "42"),
        ("<ANSWER>\n  42 \n</Answer>", "42"),
        ("<answer>1</answer> then <answer>2</answer>", "2"),
        ("<answer>$\\frac{1}{2}$</answer>", "\\frac{1}{2}"),
        ("<answer>$$x^2$$</answer>", "x^2"),
        ("<answer>\\(3\\)</answer>", "3"),
        ("<answer>\\boxed{7}</answer>", "7"),
        ("<answer>The answer is $\\boxed{\\frac{3}{4}}$.</answer>", "\\frac{3}{4}"),
        ("<answer>5.</answer>", "5"),
        ("\\boxed{1} and finally \\boxed{\\frac{a}{b}}", "\\frac{a}{b}"),
        ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),
        ("\\fbox{12}", "12"),
        ("so $\\boxed 5$", "5"),
        ("\\boxed{7} outside <answer>8</answer>", "8"),
        ("<answer>8</answer> then \\boxed{7}", "8"),
        ("no answer here 42", None),
        ("<answer></answer>", None),
        ("<answer>   </answer> \\boxed{3}", None),
        ("<answer>$ $</answer>", None),
        ("\\boxed{unbalanced", None),
        ("<answer>unclosed \\boxed{4}", "4"),
        ("", None),
        ("so $\\boxed{2}$ and $\\boxed{3}$.", "2, 3"),  # adjacent boxes: one list answer
        ("\\boxed{1}, \\boxed{2}, \\boxed{3}", "1, 2, 3"),
        ("$\\boxed{x=1}$ \\text{ or } $\\boxed{x=-1}$", "x=1, x=-1"),
        ("\\boxed{1} is wrong, so the answer is \\boxed{2}", "2"),  # wording between: the last box
        ("\\boxed{\\boxed{3}}", "3"),
    ],
)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


def test_boxed_fallback_can_be_disabled() -> None:
    assert extract_answer("\\boxed{3}", boxed_fallback=False) is None
    assert extract_answer("<answer>3</answer>", boxed_fallback=False) == "3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("<answer>3</answer>", True), ("<answer> </answer>", False), ("\\boxed{3}", False), ("<answer>3", False)],
)
def test_has_answer_tag(text: str, expected: bool) -> None:
    assert has_answer_tag(text) is expected


def test_non_string_input_is_no_answer() -> None:
    assert extract_answer(None) is None  # type: ignore[arg-type]
    assert extract_answer(123) is None  # type: ignore[arg-type]


def test_a_box_longer_than_any_answer_is_no_answer() -> None:
    text = "\\boxed{5} then \\boxed{" + "{" * 100_000 + "1" + "}" * 100_000 + "}"
    assert extract_answer(text) is None
    assert extract_answer("\\boxed{5} then \\boxed{" + "{" * 100_000) == "5"  # cut off, never closed: skipped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>The final answer is 5</answer>", "5"),
        ("<answer>The answer is $\\frac{1}{2}$.</answer>", "\\frac{1}{2}"),
        ("<answer>Answer: 12</answer>", "12"),
        ("<answer>**5**</answer>", "5"),
        ("<answer>$5$ and $7$</answer>", "5, 7"),
        ("<answer>$a$, $b$</answer>", "a, b"),
        ("<answer>so we get $x = 4$ in the end</answer>", "x = 4"),
    ],
)
def test_wording_inside_the_tag_is_dropped(text: str, expected: str) -> None:
    assert extract_answer(text) == expected
