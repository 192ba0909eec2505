"""The house's shape, checked: serving/'s packages import only downward (no cycle, no upward
import) and no module outgrows 300 lines. The README's Layout section draws this graph."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SERVING = Path(__file__).resolve().parents[2] / "serving"

# Bottom to top: a package may import its own layer's and the layers below. A new package or
# top-level module needs a place here.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "lifetime", "background"}),
    frozenset({"settings", "protocol", "sse"}),
    frozenset({"observability", "store"}),
    frozenset({"access", "audit", "privacy", "images", "cache"}),
    frozenset({"catalog", "backends"}),
    frozenset({"readiness", "gateway"}),
    frozenset({"consultation"}),
    frozenset({"services"}),
    frozenset({"deps", "openapi"}),
    frozenset({"routes"}),
    frozenset({"app", "serverless", "__main__", "__init__"}),
)
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}

MAX_LINES = 300


def room(module: str) -> str | None:
    """`serving.gateway.pipeline` -> gateway; `serving.sse` -> sse; None outside serving."""
    parts = module.split(".")
    if parts[0] != "serving":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "serving":  # from serving import sse
                found.update(f"serving.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in SERVING.rglob("*.py"):
        relative = path.relative_to(SERVING)
        source = relative.parts[0].removesuffix(".py")
        for module in imports_of(path):
            target = room(module)
            if target is not None and target != source:
                graph[source].add(target)
        graph.setdefault(source, set())
    return graph


def test_every_room_has_a_layer() -> None:
    assert set(package_graph()) - set(LAYER_OF) == set()


def test_imports_point_down_only() -> None:
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in package_graph().items()
        for target in targets
        if LAYER_OF[target] > LAYER_OF[source]
    )
    assert upward == []


def test_no_cycle_between_packages() -> None:
    graph = package_graph()
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path, node, target]
            if target not in state and (cycle := visit(target, [*path, node])):
                return cycle
        state[node] = 2
        return None

    cycles = [cycle for node in sorted(graph) if node not in state and (cycle := visit(node, []))]
    assert cycles == []


def test_the_checks_see_an_upward_import_and_a_cycle() -> None:
    """The graph checks are not vacuous: the layer order forbids what the façade once had."""
    assert LAYER_OF["settings"] < LAYER_OF["access"]  # settings once imported access.grants
    graph = package_graph()
    assert "gateway" in graph["routes"] and "access" in graph["gateway"]


RUNTIME = (SERVING, SERVING.parent / "orchestrator")


def test_no_module_outgrows_the_limit() -> None:
    sizes = {
        str(path.relative_to(SERVING.parent)): len(path.read_text().splitlines())
        for package in RUNTIME
        for path in package.rglob("*.py")
    }
    assert {module: size for module, size in sizes.items() if size > MAX_LINES} == {}


def test_runtime_packages_never_import_dev_tooling() -> None:
    """The dev stack, the evaluations and the data makers live in loadtests/ (#27): what ships in
    the image (serving/, orchestrator/) imports none of it, nor the tests."""
    found = sorted(
        f"{path.relative_to(SERVING.parent)} imports {module}"
        for package in RUNTIME
        for path in package.rglob("*.py")
        for module in imports_of(path)
        if module.split(".")[0] in {"loadtests", "tests"}
    )
    assert found == []


def test_the_tests_mirror_the_source() -> None:
    """Every folder of tests/serving/ is named for a package of serving/ (#27)."""
    tests = Path(__file__).resolve().parent
    folders = {path.name for path in tests.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    packages = {path.name for path in SERVING.iterdir() if (path / "__init__.py").exists()}
    assert folders - packages == set()


def test_the_consultation_graph_never_imports_the_facade() -> None:
    """orchestrator/ sits below serving/: the façade runs the graph, never the other way."""
    graph_root = SERVING.parent / "orchestrator"
    found = sorted(
        str(path.relative_to(graph_root))
        for path in graph_root.rglob("*.py")
        if any(room(module) is not None for module in imports_of(path))
    )
    assert found == []


def test_the_readme_draws_this_graph() -> None:
    """The Layout section's graph is the one the code has, layer and imports for each room."""
    text = (SERVING.parent / "README.md").read_text()
    block = text[text.index("The package graph, by layer") :]
    block = block[block.index("```\n") + 4 :]
    block = block[: block.index("```")]
    drawn = {}
    for line in block.splitlines():
        layer, name, _, imports = line.split(maxsplit=3)
        drawn[name] = (int(layer), set() if imports == "-" else set(imports.split(", ")))
    graph = package_graph()
    actual = {name: (LAYER_OF[name], targets) for name, targets in graph.items() if name != "__init__"}
    assert drawn == actual
