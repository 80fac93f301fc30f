"""The bed's KEY=VALUE files (tests/bed/images.env, tests/bed/registry.env), read the one way every
test reads them: comments and blank lines skipped, no shell expansion. Imported by name: pytest puts
this folder on sys.path for tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

BED = Path(__file__).resolve().parent / "bed"


def read(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and key.isidentifier(), f"{path}: not KEY=VALUE: {line!r}"
        values[key] = value.strip().strip("'\"")
    return values
