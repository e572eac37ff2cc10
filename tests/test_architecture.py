"""The shape of the code (issue 11 §3): which app may import which, and no circle between them.

Every import counts — at module top and inside functions — because an import inside a function is
still a dependency, only a hidden one. The layers, bottom up:

    core (base)   shared helpers: text, calendar, pagination, API errors, CSV, serializers, …
    agencies      districts, agencies, memberships, the actor, routing
    notifications the outbox
    referrals     referrals and everything about them
    meetings      the cooperation programme (no referral data, so no referrals import)

An app imports only from layers below it. ``config`` (settings, URLs, middleware) is wiring and may
import anything; so are core's wiring modules that by their nature reach into every app (the
template tags of the navigation, health and metrics, file maintenance commands) — they are named
below and nothing imports them in turn.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = ("core", "agencies", "notifications", "referrals", "meetings")
ALLOWED = {
    "core": set(),
    "agencies": {"core"},
    "notifications": {"core", "agencies"},
    "referrals": {"core", "agencies", "notifications"},
    "meetings": {"core", "agencies", "notifications"},
}
CORE_WIRING = ("core/templatetags/", "core/metrics.py", "core/health.py", "core/management/")


def _imports(path: pathlib.Path) -> set[str]:
    """Top-level package names of every first-party import in ``path`` (relative ones resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = path.relative_to(ROOT).parts[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add(package)
            elif node.module:
                found.add(node.module.split(".")[0])
    return found & set(APPS)


def _modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative.startswith(CORE_WIRING):
                continue
            yield app, relative, path


def test_every_app_imports_only_from_the_layers_below():
    offences = []
    for app, relative, path in _modules():
        for imported in _imports(path) - {app}:
            if imported not in ALLOWED[app]:
                offences.append(f"{relative} imports {imported}")
    assert offences == []


def test_the_apps_import_each_other_without_a_circle():
    edges = {app: set() for app in APPS}
    for app, _relative, path in _modules():
        edges[app] |= _imports(path) - {app}

    def visit(app, trail):
        assert app not in trail, " → ".join([*trail, app])
        for other in edges[app]:
            visit(other, [*trail, app])

    for app in APPS:
        visit(app, [])


def test_nothing_imports_cores_wiring_modules():
    """The wiring modules may import every app because no app imports them."""
    offences = []
    for _app, relative, path in _modules():
        source = path.read_text()
        for wiring in ("core.metrics", "core.health", "core.templatetags"):
            if wiring in source:
                offences.append(f"{relative} imports {wiring}")
    assert offences == []


def _function_imports(path: pathlib.Path):
    """Each run of consecutive imports inside a function of ``path``: (first line, last line)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        run = None
        for statement in node.body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                run = (run[0] if run else statement.lineno, statement.end_lineno)
                continue
            if run:
                yield node.name, run
            run = None
        if run:
            yield node.name, run


def test_an_import_inside_a_function_says_why():
    """Imports stand at the top of a module (issue 11 §3). One inside a function is allowed with a
    written reason — a comment on the line above it or on one of its lines (e.g. "X imports this
    module: imported when used", "loads pango: only where a PDF is made") — or in an ``AppConfig.ready``,
    where Django's documentation puts them."""
    offences = []
    for _app, relative, path in [*_modules(), *((None, p.relative_to(ROOT).as_posix(), p) for p in _wiring())]:
        lines = path.read_text().splitlines()
        for function, (first, last) in _function_imports(path):
            if function == "ready":
                continue
            said = any("#" in line for line in lines[first - 2 : last])
            if not said:
                offences.append(f"{relative}:{first} ({function})")
    assert offences == []


def _wiring():
    for folder in ("config", "core"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative and (folder == "config" or relative.startswith(CORE_WIRING)):
                yield path
