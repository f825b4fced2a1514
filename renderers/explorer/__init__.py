"""The explorer: one offline page, blocks -> scopes -> ops (page.py)."""
