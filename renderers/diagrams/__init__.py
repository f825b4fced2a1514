"""DOT source for values, one head and blocks; rendering through `dot` (render.py only)."""
