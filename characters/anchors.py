"""profile.identity_anchors: the one place that says whether a value is a usable
visual dict, and what is wrong with its values.

The contract types identity_anchors as ``list[str] | dict``: both shapes are valid
authoring, and a list doubles as persona/voice anchors. The image pipeline reads only a
non-empty dict, taking visual_summary and hair (text), style_constants and
avoid_visual_changes (lists of text), and carrying any other key through.
"""

STRING_KEYS = ("visual_summary", "hair")
LIST_KEYS = ("style_constants", "avoid_visual_changes")
KNOWN_KEYS = STRING_KEYS + LIST_KEYS

NOT_AN_OBJECT = (
    "identity_anchors must be a JSON object such as "
    '{"visual_summary": "…", "hair": "…", "style_constants": ["…"]}.'
)


def usable_visual_anchors(value) -> bool:
    """Whether identity_anchors can seed images: a non-empty dict."""
    return isinstance(value, dict) and bool(value)


def shape(value) -> str:
    """ "object" (usable for images), "list" (authoring only) or "none"."""
    if usable_visual_anchors(value):
        return "object"
    if isinstance(value, list) and value:
        return "list"
    return "none"


def unusable_reason(value) -> str | None:
    """Why identity_anchors cannot seed images (None when it can)."""
    if usable_visual_anchors(value):
        return None
    if isinstance(value, list) and value:
        return (
            "profile.identity_anchors is a list: it satisfies authoring readiness but "
            "images need a non-empty object (dict) of visual keys."
        )
    if isinstance(value, dict) or value in (None, "", []):
        return (
            "No usable visual anchor: profile.identity_anchors is unset or empty on "
            "the active version; selfie generation fails even with an identity image."
        )
    return NOT_AN_OBJECT


def value_problems(value) -> list[str]:
    """What the pipeline cannot read in a dict's values (it reads around them)."""
    if not isinstance(value, dict):
        return []
    problems = []
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            problems.append("every key must be a non-empty string")
        elif key in LIST_KEYS:
            if not (isinstance(item, list) and all(isinstance(s, str) for s in item)):
                problems.append(f"{key} must be a list of strings")
        elif key in STRING_KEYS:
            if not (isinstance(item, str) and item.strip()):
                problems.append(f"{key} must be a non-empty string")
        elif not (
            isinstance(item, str)
            or (isinstance(item, list) and all(isinstance(s, str) for s in item))
        ):
            problems.append(f"{key} must be a string or a list of strings")
    return list(dict.fromkeys(problems))


def non_empty_anchors(value) -> bool:
    """Whether identity_anchors counts for authoring (persona, voice): either shape."""
    return isinstance(value, list | dict) and len(value) > 0
