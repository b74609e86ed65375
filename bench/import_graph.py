"""Import graph of this repository's own modules, read from the source (AST only, nothing is imported).

Usage: `python bench/import_graph.py [--root DIR]`

Prints the modules and import edges (module-level imports and imports inside functions counted apart),
the import circles (strongly connected components with more than one module; both kinds of edge count,
because an import inside a function is still a dependency), and the non-test Python files over 400
lines. tests/test_code_structure.py asserts on the same functions, so the figures and the test agree.

The graph covers the packages listed in `PACKAGE_DIRS`: `vla`, `sim`, the ROS package `vla_ros` and
the LeRobot plugins' packages. Importing `a.b.c` counts as an edge to `a.b.c` only, not to the parent
packages' `__init__` that Python also runs: every submodule would otherwise form a circle with a
package `__init__` that re-exports it.
"""

from __future__ import annotations

import argparse
import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400

# Folder (relative to the repository root) that holds each top-level package this repository owns.
PACKAGE_DIRS = {
    "vla": "vla",
    "sim": "sim",
    "vla_ros": "ros2_ws/src/vla_ros/vla_ros",
    "lerobot_env_tabletop": "plugins/lerobot_env_tabletop/lerobot_env_tabletop",
    "lerobot_policy_vla": "plugins/lerobot_policy_vla/lerobot_policy_vla",
    "lerobot_robot_tabletop_sim": "plugins/lerobot_robot_tabletop_sim/lerobot_robot_tabletop_sim",
    "lerobot_teleoperator_tabletop": "plugins/lerobot_teleoperator_tabletop/lerobot_teleoperator_tabletop",
}
# Folders never counted for the line limit: the environment, build outputs and tests.
SKIP_PARTS = {".venv", "tests", "build", "install", "log", "__pycache__", "datasets", "runs"}


@dataclass
class ImportGraph:
    """Modules (dotted name -> file) and edges (importer -> imported), split by where the import sits."""

    files: dict[str, Path] = field(default_factory=dict)
    module_level: dict[str, set[str]] = field(default_factory=dict)
    in_function: dict[str, set[str]] = field(default_factory=dict)

    def edges(self) -> dict[str, set[str]]:
        """Every dependency, wherever the import statement sits."""
        return {m: self.module_level.get(m, set()) | self.in_function.get(m, set()) for m in self.files}

    def imports_of(self, module: str) -> set[str]:
        return self.edges().get(module, set())


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> source file for every package in `PACKAGE_DIRS`."""
    files: dict[str, Path] = {}
    for package, folder in PACKAGE_DIRS.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            if SKIP_PARTS.intersection(path.relative_to(base).parts):
                continue
            parts = [package, *path.relative_to(base).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom names (relative imports resolved against `module`)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _targets(module: str, is_package: bool, node: ast.AST, known: set[str]) -> set[str]:
    """The repository modules one import statement depends on."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        source = _resolve(module, is_package, node)
        # `from pkg import sub` imports the submodule `pkg.sub` when there is one, else a name of `pkg`.
        names = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]
    found = set()
    for name in names:
        # `import a.b.c` where only `a.b` is ours (or `a.b.c` is an attribute): the longest known prefix.
        parts = name.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        if parts:
            found.add(".".join(parts))
    found.discard(module)
    return found


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: set[str]):
        self.module, self.is_package, self.known = module, is_package, known
        self.depth = 0
        self.module_level: set[str] = set()
        self.in_function: set[str] = set()

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _import(self, node: ast.AST) -> None:
        found = _targets(self.module, self.is_package, node, self.known)
        (self.in_function if self.depth else self.module_level).update(found)

    visit_Import = visit_ImportFrom = _import


def build_graph(root: Path = ROOT) -> ImportGraph:
    """Parse every module of `module_files(root)` and collect its imports of other repository modules."""
    graph = ImportGraph(files=module_files(root))
    known = set(graph.files)
    for module, path in graph.files.items():
        visitor = _ImportVisitor(module, path.name == "__init__.py", known)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        graph.module_level[module] = visitor.module_level
        graph.in_function[module] = visitor.in_function - visitor.module_level
    return graph


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def long_files(root: Path = ROOT, limit: int = MAX_LINES) -> list[tuple[int, str]]:
    """(lines, path) of every non-test .py file in the repository with more than `limit` lines."""
    found = []
    for folder, subfolders, names in os.walk(root):
        # Prune in place: never walk into .venv, tests, build outputs or hidden folders.
        subfolders[:] = [d for d in subfolders if d not in SKIP_PARTS and not d.startswith(".")]
        for name in names:
            if not name.endswith(".py") or name.startswith("test_"):
                continue
            path = Path(folder) / name
            lines = len(path.read_text().splitlines())
            if lines > limit:
                found.append((lines, str(path.relative_to(root))))
    return sorted(found, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args()
    graph = build_graph(args.root)
    module_edges = sum(len(v) for v in graph.module_level.values())
    function_edges = sum(len(v) for v in graph.in_function.values())
    print(f"modules: {len(graph.files)}")
    print(f"import edges: {module_edges} module-level, {function_edges} inside functions only")
    found = circles(graph.edges())
    print(f"import circles: {len(found)}")
    for component in found:
        print("  circle: " + " <-> ".join(component))
    too_long = long_files(args.root)
    print(f"non-test files over {MAX_LINES} lines: {len(too_long)}")
    for lines, path in too_long:
        print(f"  {lines:5d} {path}")


if __name__ == "__main__":
    main()
