"""The test suite's own layout (issue #16 item 4): a folder of tests for every package of the project, no test
module importing another, and the helpers they share in tests.support alone."""

import ast
from pathlib import Path

from django.conf import settings

TESTS = Path(__file__).resolve().parent
# Configuration of the suite rather than helpers: the settings module and the PostgreSQL backend it names.
CONFIGURATION = {TESTS / "settings.py", TESTS / "postgresql" / "base.py"}


def project_packages() -> list[str]:
    """The project's top-level packages (its Django apps, the site, the simulator), tests excepted."""
    base = Path(settings.BASE_DIR)
    return sorted(p.name for p in base.iterdir() if (p / "__init__.py").is_file() and p.resolve() != TESTS)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in the file, nested ones included; relative ones as written."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def reaches_outside_support(module: str) -> bool:
    """Whether an import names a module of the tests other than tests.support's (or any, relatively)."""
    if module.startswith("."):
        return True
    return (module == "tests" or module.startswith("tests.")) and not (
        module == "tests.support" or module.startswith("tests.support.")
    )


def test_every_package_of_the_project_has_its_folder_of_tests():
    packages = project_packages()
    assert {"activity", "agile", "audit", "config", "issues", "jirasim", "jirasync_site", "projects", "syncing"} <= set(
        packages
    )
    untested = [name for name in packages if not any((TESTS / name).glob("test_*.py"))]
    assert untested == [], f"no tests/<package>/test_*.py for {untested}"


def test_no_test_module_imports_another_and_shared_helpers_come_from_tests_support():
    imports = {path: imported_modules(path) for path in sorted(TESTS.rglob("*.py"))}
    # The scan sees what it is for: the imports of a file, and which of them reach past tests.support.
    assert "tests.support.sites" in {module for _, module in imports[TESTS / "conftest.py"]}
    assert all(map(reaches_outside_support, ["tests.syncing.test_resilience", "tests.syncing.conftest", ".shapes"]))
    assert not any(map(reaches_outside_support, ["tests.support.sites", "tests.support", "testing"]))
    offending = [
        f"{path.relative_to(TESTS.parent)}:{line} imports {module}"
        for path, found in imports.items()
        for line, module in found
        if reaches_outside_support(module)
    ]
    assert offending == []


def test_helper_modules_live_in_tests_support():
    helpers = [
        str(path.relative_to(TESTS.parent))
        for path in sorted(TESTS.rglob("*.py"))
        if not path.name.startswith("test_")
        and path.name not in {"conftest.py", "__init__.py"}
        and path not in CONFIGURATION
        and TESTS / "support" not in path.parents
    ]
    assert helpers == []
