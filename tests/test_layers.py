"""Imports point down: a module of `abm` imports only from its own layer or the layers below.

`LAYERS` is the layering as data, bottom to top; a module belongs to the layer of its longest
matching prefix (so `abm.model.actions` sits below `abm.config`, the rest of `abm.model` above
it). Every import is read from the source with `ast`, those inside functions and under
`if TYPE_CHECKING:` included, since a deferred import is still a dependency.

The package root `abm` is the facade over `abm.api` (top layer), but `import abm` (for
`abm.__version__`) is allowed anywhere: the root is loaded as the parent of every module anyway,
and it imports the API only when one of the API's names is asked for (PEP 562).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "abm"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("constants and statistics", ("abm.defaults", "abm.stats")),
    ("action table and pure rules", ("abm.model.actions", "abm.model.rules")),
    ("configuration", ("abm.config",)),
    ("model", ("abm.model",)),
    ("runner", ("abm.runner",)),
    ("analysis", ("abm.analysis",)),
    ("validation and hindcast", ("abm.validation", "abm.hindcast")),
    ("entry points", ("abm.__main__", "abm.api", "abm.cli", "abm.commands", "abm.ema", "abm.explore")),
)
TOP = len(LAYERS) - 1
ROOT_NAMES_ALLOWED_EVERYWHERE = frozenset({"__version__"})


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def layer_of(name: str) -> int | None:
    """Index of the layer whose longest prefix matches `name`; the root package is the top layer."""
    if name == "abm":
        return TOP
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def imports(module: str, path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, imported abm module, names taken from it) for every import statement in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names if alias.name.split(".")[0] == "abm"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if source.split(".")[0] != "abm":
                continue
            for alias in node.names:  # `from abm.analysis import summary` imports the module abm.analysis.summary
                sub = f"{source}.{alias.name}"
                found.append((node.lineno, sub, ()) if is_module(sub) else (node.lineno, source, (alias.name,)))
    return found


def upward_imports() -> list[str]:
    problems = []
    for module, path in modules().items():
        own = layer_of(module)
        for line, target, names in imports(module, path):
            if target == "abm" and (not names or set(names) <= ROOT_NAMES_ALLOWED_EVERYWHERE):
                continue
            theirs = layer_of(target)
            if theirs is not None and own is not None and theirs > own:
                what = f"{target} ({', '.join(names)})" if names else target
                problems.append(
                    f"{module} (line {line}) imports {what}: layer '{LAYERS[theirs][0]}' is above "
                    f"its own layer '{LAYERS[own][0]}'"
                )
    return problems


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in modules() if m != "abm" and layer_of(m) is None]
    assert unplaced == [], f"add these modules to LAYERS in tests/test_layers.py: {unplaced}"


def test_imports_only_point_down() -> None:
    problems = upward_imports()
    assert problems == [], "upward imports:\n" + "\n".join(problems)


def test_the_statistics_import_nothing_of_the_package_but_the_defaults() -> None:
    found = {target for _, target, _ in imports("abm.stats", PACKAGE / "stats.py")}
    assert found <= {"abm.defaults"}


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("abm.runner.stopping", "from abm.analysis.summary import wilson\n", "abm.analysis.summary"),
        ("abm.model.model", "def f():\n    from abm.runner import run_seed\n", "abm.runner"),
        ("abm.config.schema", "from abm import api\n", "abm.api"),
        ("abm.analysis.tables", "from ..validation import stats\n", "abm.validation.stats"),
    ],
)
def test_an_upward_import_is_named(tmp_path, monkeypatch, module, source, expected) -> None:
    """The rule can fail: an upward import, even inside a function or relative, is reported by name."""
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "modules", lambda: {module: path})
    problems = upward_imports()
    assert len(problems) == 1 and problems[0].startswith(f"{module} (line ") and expected in problems[0]


def test_a_downward_import_and_the_version_pass(tmp_path, monkeypatch) -> None:
    path = tmp_path / "probe.py"
    path.write_text("import abm\nfrom abm import __version__\nfrom abm.stats import wilson\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "modules", lambda: {"abm.runner.stopping": path})
    assert upward_imports() == []
