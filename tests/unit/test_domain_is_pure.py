"""domain/ is pure Python: it must not depend on the database, the API or the web framework."""

import ast
import subprocess
import sys
from pathlib import Path

import leadcycle.domain

FORBIDDEN = (
    "sqlalchemy",
    "asyncpg",
    "strawberry",
    "starlette",
    "uvicorn",
    "alembic",
    "leadcycle.persistence",
    "leadcycle.graph",
)
DOMAIN = Path(leadcycle.domain.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_domain_module_imports_infrastructure() -> None:
    offending = {
        f"{path.name}: {name}"
        for path in DOMAIN.glob("*.py")
        for name in _imported_modules(path)
        if name.startswith(FORBIDDEN)
    }
    assert offending == set()


def test_importing_the_domain_loads_no_infrastructure() -> None:
    probe = (
        "import sys, pkgutil, importlib, leadcycle.domain as d\n"
        "for m in pkgutil.iter_modules(d.__path__): importlib.import_module('leadcycle.domain.' + m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in "
        "('sqlalchemy', 'asyncpg', 'strawberry', 'starlette', 'uvicorn', 'alembic')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
