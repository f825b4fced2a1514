"""Errors a user can cause in tracing; the CLI prints each as one line."""

__all__ = ["TracerError", "ExpressionError", "EvaluationError", "SelectionError", "ExportError",
           "NotValueLikeError", "UnsupportedOpError", "GradsNotComputedError"]


class TracerError(Exception):
    """Base class for tracer errors caused by user input."""


class ExpressionError(TracerError, ValueError):
    """An expression that does not parse or is not allowed.

    `column` is 0-based into `text`; str() shows the text with a caret under it.
    """

    def __init__(self, message, text="", column=None):
        self.message, self.text, self.column = message, text, column
        super().__init__(message)

    WINDOW = 72  # characters of the text shown around the caret

    def __str__(self):
        from .text import printable  # invisible characters shown escaped, the caret kept under

        if self.column is None or not self.text:
            return printable(self.message)
        start = max(0, min(self.column - self.WINDOW // 2, len(self.text) - self.WINDOW))
        before = printable(self.text[start:self.column])
        shown = before + printable(self.text[self.column:start + self.WINDOW])
        left, right = "…" * (start > 0), "…" * (start + self.WINDOW < len(self.text))
        caret = " " * (len(before) + len(left))
        return (f"{printable(self.message)} at column {self.column + 1}\n  {left}{shown}{right}"
                f"\n  {caret}^")


class EvaluationError(TracerError, ArithmeticError):
    """A sub-expression whose value is undefined (log(0), x/0, overflow)."""


class SelectionError(TracerError, ValueError):
    """A query for something the graph does not have (scope, position, head...)."""


class ExportError(TracerError, ValueError):
    """A graph file that cannot be written or read (format, path, contents)."""


class NotValueLikeError(TracerError, TypeError):
    """An object to trace that has none of the Value shapes the tracer reads."""


class UnsupportedOpError(TracerError, ValueError):
    """A micrograd op whose local gradients the tracer cannot derive exactly."""


class GradsNotComputedError(TracerError, ValueError):
    """Asked to replay backward on a graph traced before any backward()."""
