"""Import boundaries: the apps form layers, and a lower app never reaches a higher one.

    loreos  <-  characters  <-  hooks  <-  visuals  <-  curate

An app may use the apps to its left, never one to its right (docs/architecture.md).
Every module of every app is parsed (not imported) and these count as a use:

- an import, at any level: module top, inside a function, under ``if TYPE_CHECKING``;
- a dotted string naming an app's module or model: ``"visuals.ImageRequest"`` in a
  ForeignKey, ``"visuals.tasks.generate_image"``, ``"characters.auth.HasApiKey"``;
- ``get_model("visuals", "ImageRequest")`` and a migration dependency
  ``("visuals", "0001_initial")``.

URL names (``reverse("curate:asset-thumb")``) are links resolved per request, not
imports, and are not checked.
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. `hooks` (webhook endpoints, outbox, deliveries) sits between characters
# and visuals whether or not it exists yet in this tree.
LAYERS = ("loreos", "characters", "hooks", "visuals", "curate")
RANK = {app: rank for rank, app in enumerate(LAYERS)}

# The project's wiring names every app by design: INSTALLED_APPS and the settings that
# point at app classes, the URL root, the `make run` entry point (which seeds the demo
# account). Everything else in loreos is plumbing that every app may use.
COMPOSITION_ROOT = {
    "loreos/settings.py": "INSTALLED_APPS, REST_FRAMEWORK classes, the beat schedule",
    "loreos/urls.py": "includes every app's urls",
    "loreos/run.py": "`make run` seeds the demo account (characters.demo)",
}

# Migrations are history: an applied migration is never edited. These predate the
# layering; what they point at has moved since (see the note on each).
FROZEN_MIGRATIONS = {
    "characters/migrations/0002_initial.py": (
        "UsageRecord's foreign key to visuals.ImageRequest; the model moved to "
        "visuals in characters 0004 / visuals 0003"
    ),
}

DOTTED = re.compile(r"^(?P<app>[a-z_]+)(?:\.[A-Za-z_]\w*)+$")
MIGRATION_NAME = re.compile(r"^\d{4}_\w+$")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    app: str
    target: str
    what: str

    def __str__(self):
        return (
            f"{self.path}:{self.line}: {self.app} must not use {self.target} "
            f"({self.what}): {self.app} sits below {self.target} in "
            f"{' <- '.join(LAYERS)}. Move the code up into {self.target}, or move "
            f"what both need down into {self.app}."
        )


def _module_parts(path: str) -> list[str]:
    parts = path.removesuffix(".py").split("/")
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported_app(node: ast.ImportFrom, path: str) -> str | None:
    if node.level == 0:
        return (node.module or "").split(".")[0]
    package = _module_parts(path)
    if not path.endswith("__init__.py"):
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    resolved = [*base, *(node.module.split(".") if node.module else [])]
    return resolved[0] if resolved else None


def _uses(tree: ast.AST, path: str):
    """Yield (line, app, what) for every use of an app in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0], f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            names = ", ".join(alias.name for alias in node.names)
            source = "." * node.level + (node.module or "")
            app = _imported_app(node, path)
            if app:
                yield node.lineno, app, f"from {source} import {names}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = DOTTED.match(node.value)
            if match:
                yield node.lineno, match["app"], f'string "{node.value}"'
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2:
            first, second = node.elts
            if (
                isinstance(first, ast.Constant)
                and isinstance(second, ast.Constant)
                and isinstance(first.value, str)
                and isinstance(second.value, str)
                and MIGRATION_NAME.match(second.value)
            ):
                yield (
                    node.lineno,
                    first.value,
                    f'migration dependency ("{first.value}", "{second.value}")',
                )
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            == "get_model"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield (
                node.lineno,
                node.args[0].value,
                f'get_model("{node.args[0].value}", …)',
            )


def violations(source: str, path: str) -> list[Violation]:
    """The forbidden uses in one module; `path` is relative to the repository root."""
    app = path.split("/")[0]
    if app not in RANK:
        raise ValueError(f"{path} is not in an app of {LAYERS}")
    tree = ast.parse(source, filename=path)
    found = []
    for line, target, what in _uses(tree, path):
        if target in RANK and RANK[target] > RANK[app]:
            found.append(Violation(path, line, app, target, what))
    return sorted(set(found), key=lambda v: (v.line, v.what))


def app_modules():
    for app in LAYERS:
        folder = ROOT / app
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            if path in COMPOSITION_ROOT or path in FROZEN_MIGRATIONS:
                continue
            yield path, file.read_text(encoding="utf-8")


# --- The tree as it is -------------------------------------------------------------


def boundary_report(modules) -> list[str]:
    return [str(v) for path, source in modules for v in violations(source, path)]


def test_no_app_uses_a_higher_one():
    found = boundary_report(app_modules())
    assert not found, "Import boundary crossed:\n" + "\n".join(found)


def test_the_scan_reads_every_app_and_sees_the_allowed_uses():
    """Guard against a scan that finds nothing because it reads nothing."""
    modules = dict(app_modules())
    for app in ("loreos", "characters", "visuals", "curate"):
        assert any(path.startswith(f"{app}/") for path in modules), app
    downward = {
        (path.split("/")[0], target)
        for path, source in modules.items()
        for _, target, _ in _uses(ast.parse(source), path)
        if target in RANK and target != path.split("/")[0]
    }
    assert {
        ("characters", "loreos"),
        ("visuals", "characters"),
        ("visuals", "loreos"),
        ("curate", "visuals"),
        ("curate", "characters"),
    } <= downward


def test_the_exemptions_name_files_that_exist():
    for path in [*COMPOSITION_ROOT, *FROZEN_MIGRATIONS]:
        assert (ROOT / path).is_file(), f"{path} is exempt but missing: drop it"


# --- The checker itself, on synthetic modules ----------------------------------------


@pytest.mark.parametrize(
    "path, source, line, what",
    [
        ("characters/x.py", "import visuals.models\n", 1, "import visuals.models"),
        (
            "characters/admin.py",
            "def f():\n    from visuals.models import VisualAsset\n",
            2,
            "from visuals.models import VisualAsset",
        ),
        (
            "characters/models.py",
            "from django.db import models\n\n"
            'x = models.OneToOneField("visuals.ImageRequest", on_delete=None)\n',
            3,
            'string "visuals.ImageRequest"',
        ),
        (
            "loreos/api/auth.py",
            "from characters.keys import api_key_authenticate\n",
            1,
            "from characters.keys import api_key_authenticate",
        ),
        (
            "loreos/logging.py",
            'TASKS = {"visuals.tasks.generate_image"}\n',
            1,
            'string "visuals.tasks.generate_image"',
        ),
        (
            "characters/migrations/0009_x.py",
            'dependencies = [("visuals", "0001_initial")]\n',
            1,
            'migration dependency ("visuals", "0001_initial")',
        ),
        (
            "characters/migrations/0009_x.py",
            'def f(apps, s):\n    apps.get_model("hooks", "Endpoint")\n',
            2,
            'get_model("hooks", …)',
        ),
        (
            "hooks/outbox.py",
            "if TYPE_CHECKING:\n    from visuals.models import ImageRequest\n",
            2,
            "from visuals.models import ImageRequest",
        ),
        (
            "visuals/views/x.py",
            "from curate import badges\n",
            1,
            "from curate import badges",
        ),
        (
            "characters/management/commands/x.py",
            "from ....curate import views\n",
            1,
            "from ....curate import views",
        ),
    ],
)
def test_a_forbidden_use_is_reported_with_file_line_and_import(
    path, source, line, what
):
    (found,) = violations(source, path)
    assert (found.path, found.line, found.what) == (path, line, what)
    message = str(found)
    assert message.startswith(f"{path}:{line}: ")
    assert what in message and "sits below" in message


@pytest.mark.parametrize(
    "path, source",
    [
        ("characters/views.py", "from loreos.api.errors import ApiError\n"),
        (
            "characters/views.py",
            "from . import services\nfrom .models import Account\n",
        ),
        ("hooks/services.py", "from characters.models import Session\n"),
        ("visuals/engine/brief.py", "from ..models import ImageRequest\n"),
        ("visuals/models.py", 'x = "characters.Character"\n'),
        ("visuals/metering.py", "import hooks.outbox\nimport characters\n"),
        ("curate/views/x.py", "from visuals import assets\nfrom hooks import models\n"),
        ("loreos/api/x.py", "import django.db\nfrom rest_framework import views\n"),
        ("characters/admin.py", 'reverse("curate:asset-thumb")\n'),
        ("characters/x.py", '"""Written about visuals.ImageRequest in prose."""\n'),
    ],
)
def test_an_allowed_use_is_not_reported(path, source):
    assert violations(source, path) == []


def test_the_tree_report_names_a_planted_upward_import():
    planted = ("characters/planted.py", "def f():\n    import curate.views\n")
    report = boundary_report([*app_modules(), planted])
    assert report == [
        "characters/planted.py:2: characters must not use curate (import curate.views):"
        " characters sits below curate in loreos <- characters <- hooks <- visuals <-"
        " curate. Move the code up into curate, or move what both need down into"
        " characters."
    ]


# --- docs/architecture.md says the same ----------------------------------------------

DOC = ROOT / "docs" / "architecture.md"


def test_the_architecture_page_draws_the_same_layers():
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    assert " <- ".join(LAYERS) in text


def _rule_table_rows():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Where each contract rule lives", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ")][2:]


def test_the_rule_table_names_files_and_definitions_that_exist():
    """Every `path.py` (`name`, …) in the rule table is a file defining each name."""
    rows = _rule_table_rows()
    assert len(rows) >= 10
    missing = []
    for row in rows:
        for path, names in re.findall(r"`([\w/]+\.py)`(?:\s*\(([^)]*)\))?", row):
            file = ROOT / path
            if not file.is_file():
                missing.append(f"{path} (no such file)")
                continue
            source = file.read_text(encoding="utf-8")
            for name in re.findall(r"`(\w+)`", names):
                defined = re.search(
                    rf"^\s*(?:def|class)\s+{name}\b|^{name}\s*[:=]", source, re.M
                )
                if not defined:
                    missing.append(f"{path}: {name}")
    assert not missing, "docs/architecture.md names what the code lacks: " + ", ".join(
        missing
    )
