"""The house stays standing: who may import whom.

Parses every module's imports (module level and inside functions alike: an
import moved into a function to dodge a cycle is still a dependency; only
`if TYPE_CHECKING:` blocks are left out) and checks the rules the README
promises:

- no import cycle between apps, nor between the modules of one app; the one
  import inside a function we allow is a Celery task importing the service it
  runs from its own app (the HackSoft styleguide's rule: services import the
  tasks they queue at their top, so those tasks cannot import them back then);
- no domain app imports the staff console (`console/` is an interface);
- `stores` imports no app above it (only `merchants` and `config` below it);
- `stores/bigcommerce/` and `sandbox/` know nothing of Django;
- encryption is imported from `config.crypto`; `stores.crypto` is a re-export
  kept for the old migrations that name it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "merchants", "stores", "connect", "notifications", "storehooks", "api", "ops", "console")
TOP_LEVEL = (*APPS, "sandbox", "bench")
DOMAIN_APPS = ("merchants", "stores", "connect", "notifications", "storehooks", "api", "ops")
# What `stores` may import: the tenants it belongs to and the project's settings.
BELOW_STORES = ("merchants", "config")
NO_DJANGO = ("stores.bigcommerce", "sandbox")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every project module outside tests and migrations, by dotted name."""
    found = {}
    for top in TOP_LEVEL:
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path) -> set[tuple[str, bool]]:
    """(dotted name, inside a function?) for every import of this module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[tuple[str, bool]] = set()

    def visit(node: ast.AST, deferred: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, deferred)
            return
        if isinstance(node, ast.Import):
            found.update((alias.name, deferred) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.update((f"{base}.{alias.name}", deferred) for alias in node.names)
            found.add((base, deferred))
        inside = deferred or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return found


def _imported_names(module: str, path: Path) -> set[str]:
    """Dotted names this module imports (absolute), wherever the import is."""
    return {name for name, _ in _imports(module, path)}


def _allowed_deferred(module: str, target: str) -> bool:
    """A Celery task importing, in its body, the service it runs (same app)."""
    return module.rpartition(".")[2] == "tasks" and app_of(target) == app_of(module)


def _resolve(name: str) -> str | None:
    """The project module a dotted import name lands on, if any."""
    known = modules()
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


@cache
def graph() -> dict[str, set[str]]:
    """Module → project modules it imports (itself excluded)."""
    edges: dict[str, set[str]] = {}
    for module, path in modules().items():
        targets = set()
        for name, deferred in _imports(module, path):
            target = _resolve(name)
            if target and target != module and not (deferred and _allowed_deferred(module, target)):
                targets.add(target)
        edges[module] = targets
    return edges


@cache
def raw_imports() -> dict[str, set[str]]:
    return {module: _imported_names(module, path) for module, path in modules().items()}


def app_of(module: str) -> str:
    return module.split(".")[0]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strongconnect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                strongconnect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            strongconnect(node)
    return found


def _app_edges() -> dict[str, dict[str, list[str]]]:
    """App → app it imports → the module pairs that make the edge.

    `config` is the composition root: its URLconf and settings name every app,
    and apps may use its Celery app and settings, so edges out of it are not
    dependencies of the design and are left out.
    """
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, targets in graph().items():
        if app_of(module) == "config":
            continue
        for target in targets:
            if app_of(target) != app_of(module):
                edges[app_of(module)][app_of(target)].append(f"{module} → {target}")
    return edges


def test_the_graph_sees_the_project():
    # A parser that found nothing would pass every rule below.
    assert "stores.models" in modules()
    assert "merchants.models" in graph()["stores.models"]
    assert len(modules()) > 50


def test_no_cycle_between_apps():
    edges = _app_edges()
    cycles = _cycles({app: set(targets) for app, targets in edges.items()})
    details = [
        f"{' ↔ '.join(cycle)}: "
        + "; ".join(pair for a in cycle for b in cycle if b in edges[a] for pair in edges[a][b][:3])
        for cycle in cycles
    ]
    assert not cycles, "Import cycles between apps:\n" + "\n".join(details)


@pytest.mark.parametrize("app", TOP_LEVEL)
def test_no_cycle_between_modules_of_one_app(app):
    edges = {
        module: {target for target in targets if app_of(target) == app}
        for module, targets in graph().items()
        if app_of(module) == app
    }
    cycles = _cycles(edges)
    assert not cycles, f"Import cycles inside {app}: {cycles}"


def test_no_domain_app_imports_the_console():
    offenders = [
        f"{module} → {target}"
        for module, targets in graph().items()
        if app_of(module) in DOMAIN_APPS
        for target in targets
        if app_of(target) == "console"
    ]
    assert not offenders, offenders


def test_stores_imports_no_app_above_it():
    offenders = [
        f"{module} → {target}"
        for module, targets in graph().items()
        if app_of(module) == "stores"
        for target in targets
        if app_of(target) not in ("stores", *BELOW_STORES)
    ]
    assert not offenders, offenders


@pytest.mark.parametrize("package", NO_DJANGO)
def test_pure_packages_know_nothing_of_django(package):
    offenders = []
    for module, names in raw_imports().items():
        if module != package and not module.startswith(package + "."):
            continue
        for name in names:
            target = _resolve(name)
            if name == "django" or name.startswith("django."):
                offenders.append(f"{module} imports {name}")
            elif target and not target.startswith(("stores.bigcommerce", "sandbox")):
                offenders.append(f"{module} imports {target}")
    assert not offenders, offenders


def test_encryption_is_imported_from_config_crypto():
    """`stores.crypto` only re-exports `config.crypto` for the migrations written
    before the move (which must not change); code and tests import the real one."""
    tests = {_module_name(path): path for path in (ROOT / "tests").rglob("*.py")}
    offenders = [
        module
        for module, path in {**modules(), **tests}.items()
        if module != "stores.crypto" and any(_resolve_crypto(name) for name in _imported_names(module, path))
    ]
    assert not offenders, offenders


def _resolve_crypto(name: str) -> bool:
    return name == "stores.crypto" or name.startswith("stores.crypto.")


def test_the_rules_catch_what_they_forbid():
    """The checks themselves: a cycle and a console import are found."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    names = _imported_names("stores.example", ROOT / "tests" / "test_architecture.py")
    assert "ast" in names and "pytest" in names
    assert _resolve_crypto("stores.crypto.EncryptedTextField") and not _resolve_crypto("stores.cryptography")
    assert _allowed_deferred("stores.tasks", "stores.services")
    assert not _allowed_deferred("stores.services.checks", "stores.tasks")
    assert not _allowed_deferred("stores.tasks", "notifications.services")
