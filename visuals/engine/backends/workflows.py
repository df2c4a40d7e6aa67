"""ComfyUI workflow templates: API-format JSON (what ComfyUI's "Export (API)" saves)
with placeholders where LoreOS puts the request's own values.

The scheme (docs/comfyui.md): a string input of a node that is exactly ``{{name}}`` is
replaced by the value, keeping its type (``"seed": "{{seed}}"`` becomes an integer); a
placeholder inside a longer string is replaced by the value's text
(``"{{positive_prompt}}, film grain"``). Names:

- ``identity_image`` — the character's identity portrait (required: a template
  without it is refused at start-up); ``identity_image_2``, ``identity_image_3`` —
  further identity images (the first one again when the character has fewer);
- ``inventory_image_1`` … ``inventory_image_4`` — the inventory references of the
  request (outfit, accessory …), the identity portrait when there are fewer;
- ``parent_image`` — the previous image of the session for continuity kinds (the
  identity portrait when there is none);
- ``positive_prompt``, ``negative_prompt`` — the brief's prompt and what to avoid;
- ``seed`` — derived from the request id (a redelivered request gets the same seed);
- ``width``, ``height`` — 832×1216 for selfies, 1024×1024 otherwise.

Image placeholders become the file name the image was uploaded under
(``loreos-<sha256>.png``), the value a LoadImage node's ``image`` input takes.
"""

import json
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

SHIPPED = Path(__file__).with_name("comfyui_workflows")
DEFAULT_TEMPLATE = "sdxl_instantid.json"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")
IMAGE_NAMES = (
    "identity_image",
    "identity_image_2",
    "identity_image_3",
    "inventory_image_1",
    "inventory_image_2",
    "inventory_image_3",
    "inventory_image_4",
    "parent_image",
)
VALUE_NAMES = ("positive_prompt", "negative_prompt", "seed", "width", "height")
NAMES = frozenset(IMAGE_NAMES + VALUE_NAMES)


class TemplateError(ImproperlyConfigured):
    pass


def template_path(configured: str | None) -> Path:
    """The configured template, or the shipped default; a bare shipped name works."""
    if not configured:
        return SHIPPED / DEFAULT_TEMPLATE
    path = Path(configured)
    if not path.exists() and (SHIPPED / configured).exists():
        return SHIPPED / configured
    return path


def _strings(graph):
    if isinstance(graph, dict):
        for value in graph.values():
            yield from _strings(value)
    elif isinstance(graph, list):
        for value in graph:
            yield from _strings(value)
    elif isinstance(graph, str):
        yield graph


def placeholders(graph: dict) -> set[str]:
    return {m.group(1) for s in _strings(graph) for m in PLACEHOLDER.finditer(s)}


def template_load(configured: str | None) -> dict:
    """Read and check a template; raise TemplateError with a clear message."""
    path = template_path(configured)
    where = f"LOREOS_COMFYUI_WORKFLOW ({path.name})"
    try:
        graph = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise TemplateError(f"{where}: no such file") from exc
    except (OSError, ValueError) as exc:
        raise TemplateError(f"{where}: not a readable JSON file ({exc})") from exc
    if (
        not isinstance(graph, dict)
        or not graph
        or not all(
            isinstance(node, dict) and "class_type" in node for node in graph.values()
        )
    ):
        raise TemplateError(
            f"{where}: not an API-format workflow (an object of nodes with "
            "class_type and inputs); in ComfyUI use Workflow → Export (API)"
        )
    used = placeholders(graph)
    unknown = used - NAMES
    if unknown:
        raise TemplateError(
            f"{where}: unknown placeholder(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(NAMES))}"
        )
    if "identity_image" not in used:
        raise TemplateError(
            f"{where} references no identity image: put {{{{identity_image}}}} as "
            "the image of the LoadImage node that feeds the face model (InstantID, "
            "PuLID, IP-Adapter FaceID); without it the output is not the character"
        )
    return graph


def image_placeholders(graph: dict) -> set[str]:
    return placeholders(graph) & set(IMAGE_NAMES)


def fill(graph: dict, values: dict) -> dict:
    """A copy of `graph` with every placeholder replaced by its value."""

    def one(value):
        if isinstance(value, dict):
            return {k: one(v) for k, v in value.items()}
        if isinstance(value, list):
            return [one(v) for v in value]
        if isinstance(value, str):
            whole = PLACEHOLDER.fullmatch(value.strip())
            if whole:
                return values[whole.group(1)]
            return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
        return value

    return one(graph)
