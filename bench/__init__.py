"""The benchmark suite: `uv run python -m bench --help` (see bench/README.md)."""
