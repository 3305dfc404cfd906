"""Import-compatibility for model classes written against Seldon Core's `seldon_core` package.

Only the user-facing names live here; each module re-exports the seldon_server implementation.
"""
