"""Rendering use cases, one module per concept: shops, room sessions, render jobs."""
