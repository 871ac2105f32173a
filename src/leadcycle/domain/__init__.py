"""The lead lifecycle: pure Python, no I/O. Persistence and GraphQL depend on it, never the reverse."""
