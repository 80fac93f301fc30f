"""The line of a table or key in a TOML file's text: tomllib gives none, and an error about a
declaration names the file, the table and the line. Simple and forgiving: it reads headers
(`[topics.orders]`, `[tool.kafkalab.topics."orders-[eu]"]`) and `key = ...` lines, as most files
are written; whatever it cannot place has no line (None), never a wrong error.

May import: the standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_HEADER = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]\s*(?:#.*)?$")
_ARRAY_HEADER = re.compile(r"^\s*\[\[")
_KEY = re.compile(rf"^\s*({_DOTTED})\s*=")
_ONE = re.compile(_PART)
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def split_key(text: str) -> tuple[str, ...]:
    """A dotted TOML key as its parts: `topics."orders-[eu]"` is ("topics", "orders-[eu]")."""
    parts = []
    for found in _ONE.finditer(text):
        part = found.group(0)
        if part.startswith('"'):
            try:
                part = json.loads(part)
            except ValueError:  # a TOML escape JSON lacks (\U0001F600): close enough for a line number
                part = part[1:-1]
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def toml_key(name: str) -> str:
    """A key as TOML writes it: bare when it may be, else quoted."""
    return name if _BARE.fullmatch(name) else toml_string(name)


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's (DEL, which TOML refuses raw, escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """A value as TOML writes it (what export prints, and errors quote): true, 3, "text", [1, 2],
    { a = 1 }; a date or time as its ISO form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }" \
            if value else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)  # int; a float's repr is TOML's (1.5, inf, nan)


def locate(text: str, path: tuple[str, ...]) -> int | None:
    """The 1-based line that writes the table or key at `path` (("topics", "orders", "partitions")):
    its header, or the key line (a dotted or inline one) that writes it or the table holding it.
    None when no line does."""
    current: tuple[str, ...] | None = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if _ARRAY_HEADER.match(line):
            current = None  # [[array.of.tables]]: nothing declared lives there
            continue
        header = _HEADER.match(line)
        if header:
            current = split_key(header.group(1))
            if current == path:
                return number
            continue
        if current is None or path[: len(current)] != current:
            continue
        key = _KEY.match(line)
        if key:
            written = current + split_key(key.group(1))
            if len(written) <= len(path) and path[: len(written)] == written:
                return number
    return None
