"""Codeloft's domain: entities, value objects, use cases and the ports adapters implement.

Nothing here does I/O or imports an adapter; import-linter enforces that rule.
"""
