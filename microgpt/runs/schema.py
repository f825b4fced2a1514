"""Checking a JSON value field by field against the shape it must have.

Checkpoints and metrics logs are JSON a person can edit or another program can
write. Read back unchecked, a string where a number belongs becomes a traceback
three modules later, and a NaN weight a silently wrong picture. A spec names what
each field must be; `check` walks the value and the spec together and raises, at
the first mismatch, one error naming the field by its path (`weights.wte[3][1]`).

Specs: NUMBER (a finite int or float), COUNT (an int >= 0), TEXT (a str), a list
`[spec, length]` (length None: any), a dict `{key: spec}` (exactly these keys), or
`Mapping(spec)` (any str keys); in a dict spec, `Optional(spec)` marks a field an older
version did not write (absent is fine, present is checked). A callable spec checks the
value itself and returns an error message or None.
"""

import math
from dataclasses import dataclass

__all__ = ["NUMBER", "COUNT", "TEXT", "Mapping", "Optional", "SchemaError", "check"]


class SchemaError(ValueError):
    def __init__(self, where, message):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


def NUMBER(x):
    if type(x) not in (int, float):
        return f"must be a number, got {short(x)}"
    if not math.isfinite(x):
        return f"must be a finite number, got {x!r}"
    return None


def COUNT(x):
    return None if type(x) is int and x >= 0 else f"must be a whole number >= 0, got {short(x)}"


def TEXT(x):
    return None if isinstance(x, str) else f"must be text, got {short(x)}"


@dataclass(frozen=True)
class Mapping:
    values: object  # the spec of every value; keys are text


@dataclass(frozen=True)
class Optional:
    spec: object  # a dict field that may be absent (files of an older version lack it)


def short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def check(value, spec, where=""):
    """Raise SchemaError at the first field of value that does not fit spec.

    >>> check({"w": [[1.0, 2]], "name": "x"}, {"w": [[NUMBER, 2], 1], "name": TEXT})
    >>> check({"w": [[1.0, "2"]]}, {"w": [[NUMBER, 2], 1]})
    Traceback (most recent call last):
    microgpt_trace.microgpt.runs.schema.SchemaError: w[0][1]: must be a number, got '2'
    """
    if callable(spec):
        problem = spec(value)
        if problem:
            raise SchemaError(where, problem)
    elif isinstance(spec, list):
        item, length = spec
        if not isinstance(value, list):
            raise SchemaError(where, f"must be a list, got {short(value)}")
        if length is not None and len(value) != length:
            raise SchemaError(where, f"must have {length} entries, has {len(value)}")
        for i, v in enumerate(value):
            check(v, item, f"{where}[{i}]")
    elif isinstance(spec, Mapping):
        if not isinstance(value, dict):
            raise SchemaError(where, f"must be a mapping, got {short(value)}")
        for key, v in value.items():
            check(v, spec.values, f"{where}.{key}" if where else key)
    else:
        if not isinstance(value, dict):
            raise SchemaError(where, f"must be a mapping, got {short(value)}")
        required = {key for key, item in spec.items() if not isinstance(item, Optional)}
        extra, missing = sorted(set(value) - set(spec)), sorted(required - set(value))
        if missing or extra:
            raise SchemaError(where, "lacks " + ", ".join(missing) if missing
                              else "has unknown fields " + ", ".join(extra))
        for key, item in spec.items():
            if key in value:
                item = item.spec if isinstance(item, Optional) else item
                check(value[key], item, f"{where}.{key}" if where else key)
