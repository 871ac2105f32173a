"""Regenerates what is derived for the docs: `schema.graphql` and the README's state diagram.

uv run python -m leadcycle.graph.docs
"""

from __future__ import annotations

import re
from pathlib import Path

from leadcycle.domain.lifecycle import mermaid_diagram
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
SDL_PATH = ROOT / "schema.graphql"
README_PATH = ROOT / "README.md"
DIAGRAM_BLOCK = re.compile(r"(<!-- lifecycle-diagram -->\n```mermaid\n)(.*?)(```\n)", re.DOTALL)


def served_sdl() -> str:
    return build_schema(Settings()).as_str() + "\n"


def readme_with_diagram(readme: str) -> str:
    """The README with its lifecycle diagram block replaced by the one derived from the machine."""
    return DIAGRAM_BLOCK.sub(lambda m: m.group(1) + mermaid_diagram() + m.group(3), readme)


def main() -> None:
    SDL_PATH.write_text(served_sdl())
    README_PATH.write_text(readme_with_diagram(README_PATH.read_text()))
    print(f"wrote {SDL_PATH.name} and the diagram in {README_PATH.name}")


if __name__ == "__main__":
    main()
