"""The Python API's implementation (docs/api.md); `kt` (api/__init__.py) exposes it lazily."""
