"""The import rules that keep the layers apart, read from every module's source (function-level imports too).

Layers, bottom up: `lib` (shared helpers) and `jirafields` (the pure field processor); the Jira client
(`syncing.jira`); the apps; `jirasync_site`, the wiring. `jirasim` stands alone.
"""

import ast
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("activity", "agile", "audit", "config", "issues", "projects", "syncing")
CLIENT = "syncing.jira"
# Modules through which people and processes reach an app: each may use any app below the wiring.
DOOR_NAMES = ("admin", "apps", "urls")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the module imported (for `from a import b`: a.b when a.b is a module, else a)
    line: int
    in_function: bool
    type_only: bool = False  # under `if TYPE_CHECKING:`: read by the type checker, never at run time


def packages() -> list[str]:
    """The project's top-level folders holding Python code (the first-party names an import may start with)."""
    skipped = {".venv", "var", ".git"}
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in skipped and any(p.rglob("*.py")))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> list[Import]:
    """Every import statement of a file, module-level or not, with what it names resolved to modules."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = module_name(path)
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_only: bool = False) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                visit(ast.Module(body=child.body, type_ignores=[]), in_function, True)
                visit(ast.Module(body=child.orelse, type_ignores=[]), in_function, type_only)
                continue
            if isinstance(child, ast.Import):
                found.extend(Import(module, alias.name, child.lineno, in_function, type_only) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: resolved against the importing module's package
                    package = module.split(".")[: -child.level] if path.name != "__init__.py" else module.split(".")
                    base = ".".join([*package, *([base] if base else [])])
                for alias in child.names:
                    target = f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base
                    found.append(Import(module, target, child.lineno, in_function, type_only))
            visit(child, inner, type_only)

    visit(tree, False)
    return list(dict.fromkeys(found))  # `from a import b, c` names module a once


def modules_under(*tops: str) -> dict[str, Path]:
    return {
        module_name(path): path
        for top in tops
        for path in sorted((ROOT / top).rglob("*.py"))
        if "migrations" not in path.parts
    }


ALL_IMPORTS = {name: imports_of(path) for name, path in modules_under(*packages()).items()}


def top(dotted: str) -> str:
    return dotted.split(".")[0]


def within(dotted: str, package: str) -> bool:
    return dotted == package or dotted.startswith(f"{package}.")


def test_no_module_but_the_wiring_imports_jirasync_site_except_its_settings():
    outside = [name for name in ALL_IMPORTS if top(name) not in ("jirasync_site", "tests")]
    assert {top(name) for name in outside} >= {*APPS, "lib", "jirafields", "jirasim"}  # the walk saw them
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for name in outside
        for i in ALL_IMPORTS[name]
        if within(i.target, "jirasync_site") and i.target != "jirasync_site.settings"
    ]
    assert not wrong, "jirasync_site is wiring; shared code lives in lib/:\n" + "\n".join(wrong)


def test_the_shared_helpers_and_the_field_processor_import_no_app_and_no_wiring():
    first_party = set(packages())
    allowed = {"lib": {"lib"}, "jirafields": {"jirafields"}}
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for name, found in ALL_IMPORTS.items()
        if top(name) in allowed
        for i in found
        if top(i.target) in first_party and top(i.target) not in allowed[top(name)]
    ]
    assert not wrong, "\n".join(wrong)


def closure(start: list[str]) -> dict[str, list[Import]]:
    """The first-party modules reachable from start through any import (function-level ones too), each with
    its imports."""
    seen: dict[str, list[Import]] = {}
    todo = list(start)
    first_party = set(packages())
    while todo:
        name = todo.pop()
        if name in seen or not is_module(name):
            continue
        path = ROOT.joinpath(*name.split("."))
        seen[name] = imports_of(path / "__init__.py" if path.is_dir() else path.with_suffix(".py"))
        parents = [".".join(name.split(".")[:n]) for n in range(1, name.count(".") + 1)]  # their __init__ runs too
        todo += parents + [i.target for i in seen[name] if top(i.target) in first_party]
    return seen


def test_the_jira_client_and_the_field_processor_import_no_django_however_deep():
    start = [name for name in ALL_IMPORTS if within(name, CLIENT) or within(name, "jirafields")]
    assert "syncing.jira.client" in start and "jirafields.processor" in start
    reached = closure(start)
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for found in reached.values()
        for i in found
        if top(i.target) == "django" or (top(i.target) in APPS and not within(i.target, CLIENT))
    ]
    assert not wrong, "\n".join(wrong)
    assert set(reached) <= {"syncing", *start, "lib", "lib.secret_forms", "jirafields"}, sorted(reached)


def test_importing_the_jira_client_and_the_field_processor_loads_no_django():
    code = (
        "import sys, syncing.jira.client, jirafields, jirafields.core, jirafields.sprint;"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_jirasim_imports_nothing_of_jirasync():
    first_party = set(packages())
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for name, found in ALL_IMPORTS.items()
        if top(name) == "jirasim"
        for i in found
        if top(i.target) in first_party - {"jirasim"}
    ]
    assert not wrong, "jirasim stands alone (stdlib and third-party packages only):\n" + "\n".join(wrong)


def test_apps_import_each_other_at_module_level_only_outside_app_configs():
    """A function-level import between packages hides a two-way dependency; only AppConfig modules need
    them (they are imported before the models load)."""
    checked = {*APPS, "lib", "jirafields", "jirasync_site"}
    wrong = [
        f"{i.module}:{i.line} imports {i.target} inside a function"
        for name, found in ALL_IMPORTS.items()
        if top(name) in checked and not name.endswith(".apps")
        for i in found
        if i.in_function and top(i.target) in checked and top(i.target) != top(name)
    ]
    assert not wrong, "\n".join(wrong)


def layer(dotted: str) -> str:
    """An app's name, or the Jira client's: the client lives in syncing's folder but sits below every app."""
    return CLIENT if within(dotted, CLIENT) else top(dotted)


def is_door(module: str) -> bool:
    last = module.split(".")[-1]
    return ".management." in module or last in DOOR_NAMES or last.startswith("admin_") or last.endswith("_admin")


def test_no_two_apps_import_each_other_outside_their_doors():
    """Models, services, selectors and the engine depend one way; admin pages and commands may use any app."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, found in ALL_IMPORTS.items():
        if top(name) not in APPS or is_door(name):
            continue
        for i in found:
            if top(i.target) in APPS and layer(i.target) != layer(name):
                edges[(layer(name), layer(i.target))].append(f"{i.module}:{i.line} imports {i.target}")
    assert edges, "the walk found no import between apps"
    both_ways = [
        f"{a} <-> {b}: {edges[(a, b)][:2]} / {edges[(b, a)][:2]}" for a, b in edges if a < b and (b, a) in edges
    ]
    assert not both_ways, "\n".join(both_ways)


# syncing's rooms, bottom up: each may import the rooms before it in this order, never one after it (imports read
# only by the type checker excepted). The app's models, and its doors (tasks, admin, apps), are outside the rooms.
ROOMS = ("syncing.jira", "syncing.engine", "syncing.site", "syncing.runs", "syncing.webhooks")


def room(dotted: str) -> str | None:
    return next((r for r in ROOMS if within(dotted, r)), None)


def test_syncing_rooms_import_only_the_rooms_below_them():
    """The client knows nothing of the sync; the engine (a page's way to rows) knows no run, site discovery or
    webhook; runs orchestrate the engine; webhooks queue runs — the page flows one way (ARCHITECTURE.md)."""
    assert {room(name) for name in ALL_IMPORTS} >= set(ROOMS)  # the walk saw every room
    wrong = [
        f"{i.module}:{i.line} ({room(name)}) imports {i.target} ({room(i.target)})"
        for name, found in ALL_IMPORTS.items()
        if room(name)
        for i in found
        if not i.type_only and room(i.target) and ROOMS.index(room(i.target)) > ROOMS.index(room(name))
    ]
    assert not wrong, "\n".join(wrong)


def test_the_read_side_and_the_rooms_below_the_runs_import_no_webhook_and_no_door():
    """Dashboard and metrics read; the engine and the site know nothing of how work is queued (syncing.tasks) or
    shown (admin)."""
    readers = ("syncing.monitoring", "syncing.jira", "syncing.engine", "syncing.site")
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for name, found in ALL_IMPORTS.items()
        if any(within(name, r) for r in readers)
        for i in found
        if not i.type_only
        and (
            within(i.target, "syncing.webhooks")
            or i.target in ("syncing.tasks", "syncing.admin", "syncing.admin_actions")
        )
    ]
    assert not wrong, "\n".join(wrong)
