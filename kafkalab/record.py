"""What kafkalab keeps on disk about each lab, in its state directory:

- ``<project>.env``: the settings the lab was started with, as a compose --env-file. It also tells
  later commands the lab's mode (the Kafka commands bootstrap from every broker of a cluster). One
  that names no mode was written by kafkalab 0.1, which labelled nothing: only then are unlabelled
  containers and volumes of that name the lab's, and the later record lists the volumes it adopted.
- ``<project>.lock``: held while a process changes the lab (`up`, `down`), so that concurrent runs
  (pytest-xdist workers, two terminals, `make -j`) take turns instead of racing Compose.

The directory is $XDG_CACHE_HOME/kafkalab (~/.cache/kafkalab), or a per-user one in the temporary
directory when that cannot be written (a read-only or missing HOME).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from kafkalab.errors import ConfigError

_found: list[Path] = []


def state_dir() -> Path:
    if _found:
        return _found[0]
    candidates = []
    with contextlib.suppress(RuntimeError):  # no HOME and no passwd entry
        candidates.append(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kafkalab")
    candidates.append(Path(tempfile.gettempdir()) / f"kafkalab-{os.getuid()}")
    for candidate in candidates:
        try:
            candidate.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            continue
        if os.access(candidate, os.W_OK | os.X_OK):
            _found.append(candidate)
            return candidate
    raise ConfigError(
        f"kafkalab found no directory it can write its state to (tried {', '.join(map(str, candidates))}).",
        "Set XDG_CACHE_HOME to a writable directory.",
    )


def env_file(project: str) -> Path:
    return state_dir() / f"{project}.env"


def write(project: str, values: Mapping[str, str]) -> Path:
    path = env_file(project)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def read(project: str) -> dict[str, str]:
    """The values the lab was last started with; empty when kafkalab never started it here."""
    try:
        text = env_file(project).read_text()
    except (OSError, ConfigError):
        return {}
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def legacy(project: str) -> bool:
    """kafkalab 0.1 started a lab of this name here (and it was not reset since): its record, which
    (unlike later ones) names no mode. Only then are unlabelled objects of that name the lab's."""
    values = read(project)
    return bool(values) and "KAFKALAB_MODE" not in values


def adopted(project: str) -> set[str]:
    """The volumes of a 0.1 lab that a later `up` took over: they keep having no label."""
    return {v for v in read(project).get("KAFKALAB_ADOPTED_VOLUMES", "").split(",") if v}


def forget(project: str) -> None:
    env_file(project).unlink(missing_ok=True)


@contextlib.contextmanager
def lock(project: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lab's lock; when another process holds it, call on_wait once and wait for it."""
    import fcntl

    with open(state_dir() / f"{project}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
