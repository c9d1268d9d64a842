"""Reusable Dash component builders and pure figure builders (no I/O)."""
