"""The package's import graph: no cycles (function-level imports included), and ``deepscaler_grpo.config`` imports
nothing heavy (no torch, transformers or TRL), so a config can be built and checked before anything loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import deepscaler_grpo

PACKAGE = "deepscaler_grpo"
ROOT = Path(deepscaler_grpo.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str) -> set[str]:
    """Modules of ours that ``path`` imports anywhere (module level, in functions, under TYPE_CHECKING excluded)."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node)
            for child in node.body for n in ast.walk(child)}
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph() -> dict[str, set[str]]:
    """module -> modules it imports; importing ``a.b.c`` also runs the packages ``a`` and ``a.b`` (edges to them)."""
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for target in imported(path, name):
            parts = target.split(".")
            chain = [".".join(parts[:i]) for i in range(2, len(parts) + 1)]
            targets |= {t for t in chain if t in files and t != name and not name.startswith(t + ".")}
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walker_sees_function_level_imports_and_cycles() -> None:
    graph = import_graph()
    assert "deepscaler_grpo.training.schedule" in graph["deepscaler_grpo.training.run"]  # imported inside train()
    assert any("deepscaler_grpo.models" in targets for targets in graph.values())
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_config_imports_nothing_heavy_and_nothing_else_of_ours() -> None:
    code = (
        "import sys; import deepscaler_grpo.config as c; c.load_config(['data.train_batch_size=8', "
        "'actor_rollout_ref.actor.ppo_mini_batch_size=4']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch','transformers','trl','peft','vllm','datasets')"
        " or (m.startswith('deepscaler_grpo.') and not m.startswith('deepscaler_grpo.config') and m != 'deepscaler_grpo.errors')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
