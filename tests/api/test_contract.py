"""The served schema stays a backward-compatible superset of the public contract."""

from pathlib import Path

from graphql import DangerousChangeType, build_schema, find_breaking_changes, find_dangerous_changes

from leadcycle.graph.docs import README_PATH, SDL_PATH, readme_with_diagram, served_sdl

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract" / "leads.graphql"
ADDITIVE = {
    DangerousChangeType.VALUE_ADDED_TO_ENUM,
    DangerousChangeType.TYPE_ADDED_TO_UNION,
    DangerousChangeType.OPTIONAL_INPUT_FIELD_ADDED,
    DangerousChangeType.OPTIONAL_ARG_ADDED,
    DangerousChangeType.IMPLEMENTED_INTERFACE_ADDED,
}
REGENERATE = "regenerate with `uv run python -m leadcycle.graph.docs`"


def test_served_schema_breaks_nothing_in_the_contract() -> None:
    contract, served = build_schema(CONTRACT.read_text()), build_schema(served_sdl())
    assert [c.description for c in find_breaking_changes(contract, served)] == []


def test_served_schema_only_adds_to_the_contract() -> None:
    contract, served = build_schema(CONTRACT.read_text()), build_schema(served_sdl())
    risky = [c.description for c in find_dangerous_changes(contract, served) if c.type not in ADDITIVE]
    assert risky == []


def test_committed_sdl_is_the_served_schema() -> None:
    assert SDL_PATH.read_text() == served_sdl(), REGENERATE


def test_readme_diagram_is_derived_from_the_machine() -> None:
    readme = README_PATH.read_text()
    assert "<!-- lifecycle-diagram -->" in readme
    assert readme_with_diagram(readme) == readme, REGENERATE


def test_every_type_and_field_is_documented() -> None:
    served = build_schema(served_sdl())
    undocumented = []
    for name, graphql_type in served.type_map.items():
        if name.startswith("__") or name in (
            "Query",
            "Mutation",
            "Subscription",
            "String",
            "Int",
            "Float",
            "Boolean",
            "ID",
        ):
            continue
        if not graphql_type.description:
            undocumented.append(name)
        fields = getattr(graphql_type, "fields", {})
        undocumented += [f"{name}.{field}" for field, definition in fields.items() if not definition.description]
    assert undocumented == []
