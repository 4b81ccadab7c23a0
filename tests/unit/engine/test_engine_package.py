"""Package-level checks: methodology version, docstring examples, purity of imports."""

import ast
import doctest
import importlib
import pathlib

import pytest

import workers.engine

ENGINE_DIR = pathlib.Path(workers.engine.__file__).parent
MODULES = sorted(p.stem for p in ENGINE_DIR.glob("*.py") if p.stem != "__init__")
FORBIDDEN = {
    "backend",
    "tenancy",
    "sqlalchemy",
    "asyncpg",
    "redis",
    "arq",
    "boto3",
    "httpx",
    "os",
    "time",
    "random",
}


def test_methodology_version_is_exposed():
    # then
    assert workers.engine.METHODOLOGY_VERSION == "interval-vee/1.0"


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    # given
    mod = importlib.import_module(f"workers.engine.{module}")

    # when
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)

    # then
    assert result.failed == 0


@pytest.mark.parametrize("module", MODULES)
def test_engine_modules_import_no_io_or_backend(module):
    # given
    tree = ast.parse((ENGINE_DIR / f"{module}.py").read_text())

    # when
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])

    # then
    assert not imported & FORBIDDEN
