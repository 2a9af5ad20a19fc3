"""A JSON Schema of goal and session front matter, for editors that validate while typing.

It mirrors `entries` (the keys, the choices, the ranges); `check` stays the
authority (it also knows cross-file rules such as unknown goals or metrics).
"""

from __future__ import annotations

from .model import AUDIENCES, OUTCOMES, ROLES, STATUSES

DATE = {"type": "string", "pattern": r"^\d{4}-\d{1,2}-\d{1,2}$", "description": "YYYY-MM-DD"}
WHEN = {"type": "string", "pattern": r"^\d{4}-\d{1,2}-\d{1,2}([Tt ]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?"
        r"\s*(Z|[+-]\d{1,2}(:?\d{2})?)?)?$", "description": "YYYY-MM-DD, optionally with a time"}
CLOCK = {"type": "string", "pattern": r"^\d+:[0-5]\d(:[0-5]\d)?(\.\d+)?$", "description": "mm:ss or h:mm:ss"}
DURATION = {"type": "string", "pattern": r"^(\d+\s*h)?\s*(\d+\s*m(in)?)?$|^\d+(:[0-5]\d)?$",
            "description": 'minutes: 45, "45m", "1h30m" or "1:30"'}
MEASURE = {"anyOf": [{"type": "number"}, CLOCK]}
TEXT = {"type": "string", "minLength": 1}
COMMON = {
    "tags": {"type": "array", "items": TEXT},
    "visibility": {"enum": list(AUDIENCES)},
    "draft": {"type": "boolean"},
}


def _object(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def goal_schema() -> dict:
    metric = {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
        "name": TEXT, "unit": {"type": "string"}, "better": {"enum": ["higher", "lower"]}, "target": MEASURE}}
    milestone = {"anyOf": [TEXT, {"type": "object", "required": ["title"], "additionalProperties": False,
                                  "properties": {"title": TEXT, "level": {"type": "integer", "minimum": 0},
                                                 "done": DATE}}]}
    return _object({
        "title": TEXT, "area": TEXT, "started": DATE, "target_date": DATE, "status": {"enum": list(STATUSES)},
        "metrics": {"type": "array", "items": metric}, "milestones": {"type": "array", "items": milestone},
        **COMMON}, ["title", "area", "started"])


def session_schema() -> dict:
    rating = {"type": "integer", "minimum": 1, "maximum": 10}
    feedback = {"type": "object", "required": ["from", "note"], "additionalProperties": False, "properties": {
        "from": TEXT, "role": {"enum": list(ROLES)}, "note": TEXT, "action": {"type": "string"}}}
    return _object({
        "title": TEXT, "date": WHEN, "goal": TEXT,
        "difficulty": {"type": "integer", "minimum": 1, "maximum": 5},
        "outcome": {"enum": list(OUTCOMES)},
        "duration": {"anyOf": [{"type": "integer", "minimum": 0}, DURATION]},
        "metrics": {"type": "object", "additionalProperties": MEASURE},
        "milestone": TEXT,
        "confidence": {"anyOf": [rating, {"type": "object", "additionalProperties": False,
                                          "properties": {"before": rating, "after": rating}}]},
        "lesson": TEXT,
        "feedback": {"type": "array", "items": feedback},
        "slug": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
        **COMMON}, ["title"])


def schema(kind: str | None = None) -> dict:
    """The schema of one kind ("goal", "session"), or both under $defs."""
    head = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    if kind == "goal":
        return {**head, "title": "mastery-site goal front matter", **goal_schema()}
    if kind == "session":
        return {**head, "title": "mastery-site session front matter", **session_schema()}
    return {**head, "title": "mastery-site front matter",
            "$defs": {"goal": goal_schema(), "session": session_schema()},
            "anyOf": [{"$ref": "#/$defs/goal"}, {"$ref": "#/$defs/session"}]}
