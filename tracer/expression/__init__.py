"""The expression language: parse (text -> syntax tree) and evaluate (tree -> Values)."""
