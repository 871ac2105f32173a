"""Scoring model documents the tests activate: the default model with one rule changed."""

from typing import Any

from leadcycle.domain.rules_json import model_to_json
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL


def opens_worth(points: int) -> dict[str, Any]:
    """The default model's document with email_open worth `points`."""
    document = model_to_json(DEFAULT_SCORING_MODEL)
    for rule in document["rules"]:
        if rule["name"] == "activity.email_open":
            rule["points"] = points
    return document
