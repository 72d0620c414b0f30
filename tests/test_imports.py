"""The package's layers, read from its imports (ast over rnnspec/**/*.py, nothing imported).

The library the specs import (rnnspec/*.py: the table of modules, the reference equations,
the helpers, the sources, the ledger, the releases, the golden cases, the report schema)
and the specs themselves never import the tool (rnnspec/tool/: the plugin's parts and the
commands); the tool imports the library. The two entry points, rnnspec/plugin.py (the
plugin's name) and rnnspec/__main__.py, belong to the tool. No module imports itself
through others: every import is counted, also one inside a function or under
TYPE_CHECKING, since either would close a cycle the day it moves to the top.
"""

from __future__ import annotations

import ast
import graphlib
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rnnspec"
ENTRY_POINTS = {"rnnspec.plugin", "rnnspec.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, known: set[str]) -> set[str]:
    """The package's modules that `path` imports: `from a import b` counts as a.b where that
    is a module, else as a; `pytest_plugins` strings count too (the plugin's parts)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found |= {
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            }
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
        ):
            found |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
    return {m for m in found if m in known and m != name}


@cache
def import_graph() -> dict[str, set[str]]:
    """Each module of the package, with the package's modules it imports (read once a run)."""
    found = modules()
    return {name: imported(path, set(found)) for name, path in found.items()}


def is_tool(name: str) -> bool:
    return name.startswith("rnnspec.tool") or name in ENTRY_POINTS


def test_the_map_sees_the_imports_it_must() -> None:
    """Red if the map missed the imports it is about (a relative import, a lazy one, a plugin
    part named in pytest_plugins): an empty map would pass every other test."""
    graph = import_graph()
    assert "rnnspec.schema" in graph["rnnspec.tool.diff"]
    assert "rnnspec.tool.bench" in graph["rnnspec.tool.compare"]  # inside a function
    assert "rnnspec.tool.plugin.collector" in graph["rnnspec.plugin"]
    assert "rnnspec.golden" in graph["rnnspec.specs.pytorch.test_equations"]


def test_the_package_imports_have_no_cycle() -> None:
    """graphlib orders the modules so that each comes after what it imports, or names a cycle."""
    try:
        graphlib.TopologicalSorter(import_graph()).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"an import cycle: {' -> '.join(error.args[1])}")


@pytest.mark.parametrize(
    "name",
    [m for m in sorted(modules()) if not is_tool(m)],
    ids=lambda m: m.removeprefix("rnnspec."),
)
def test_the_library_and_the_specs_never_import_the_tool(name: str) -> None:
    """What the specs import stays usable without the commands that run and compare them."""
    tool = sorted(t for t in import_graph()[name] if is_tool(t))
    assert tool == [], f"{name} imports the tool: {', '.join(tool)}"


# What an xdist controller loads before it starts the workers: the checkout's conftest files
# and the plugin's modules. Each of these modules takes a second or more to import, and the
# controller, which runs no test, would make every worker wait for it.
HEAVY = {"torch", "torchvision", "hypothesis", "onnx", "onnxruntime", "onnxscript"}
CONTROLLER_FILES = [
    PACKAGE.parent / "conftest.py",
    PACKAGE.parent / "tests" / "conftest.py",
    PACKAGE / "specs" / "conftest.py",
    PACKAGE / "plugin.py",
    PACKAGE / "suite.py",
    *sorted((PACKAGE / "tool" / "plugin").glob("*.py")),
]


def top_level_imports(path: Path) -> set[str]:
    """The top-level packages that `path` imports as it is loaded: imports inside functions
    and under `if TYPE_CHECKING:` are left out."""
    found = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", CONTROLLER_FILES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_what_the_xdist_controller_loads_imports_neither_torch_nor_hypothesis(path: Path) -> None:
    """Red if a conftest file or a part of the plugin imports torch, torchvision, hypothesis
    or onnx at its top: the controller would import it too (tests/conftest.py's `import torch`
    made the workers of the test command start 1.5 s later)."""
    assert top_level_imports(path) & HEAVY == set()
