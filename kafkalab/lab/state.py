"""What kafkalab keeps on disk about each lab, in its state directory:

- ``<project>.env``: the lab's record, as a compose --env-file: the settings it was last started
  with (its mode, ports, network, ...), which every later command that acts on the lab takes
  unless it is given others (Settings.with_record), and the layout of its volumes (LAYOUT_KEY).
  A record that names no mode was written by kafkalab 0.1, which labelled nothing: only for such a
  lab (see legacy()) are unlabelled containers, volumes and the network of that name the lab's, and
  the later record lists the volumes it adopted. It is written whole or not at all (a temporary
  file renamed over it), and forgotten with the lab's data (`down --volumes`).
- ``<project>.security/``: a secured lab's users, CA and certificates (kafkalab.security.store).
- ``<project>.connect.properties``: the worker config of the lab's Kafka Connect (`--with connect`), which
  kafkalab writes before `up` (kafkalab.connectors.worker) and the worker's container mounts read-only.
  Forgotten with the record.
- ``<project>.lock``: held while a process changes the lab (`up`, `down`), so that concurrent runs
  (pytest-xdist workers, two terminals, `make -j`) take turns instead of racing Compose. Removed,
  by its holder, with the record.

The directory is $XDG_CACHE_HOME/kafkalab (~/.cache/kafkalab), or, when that cannot be written (a
read-only or missing HOME), kafkalab-<uid> in the temporary directory: made with mode 0700, and used
only when it is a directory of this user's and no symlink. The temporary directory is shared: a
folder of that name that someone else made (or a symlink planted there) would let them plant
records, hold the lock for ever, or redirect a write; kafkalab refuses it instead.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from kafkalab.errors import ConfigError

_found: list[Path] = []

# The layout of the lab's volumes. "per-mode": each mode its own (kafkalab.lab.modes). "0.1-<mode>": a lab
# of kafkalab 0.1, where every mode kept broker 1's data in kafka-data, which holds <mode>'s data.
LAYOUT_KEY = "KAFKALAB_LAYOUT"
PER_MODE = "per-mode"
LEGACY_PREFIX = "0.1-"


def state_dir() -> Path:
    if _found:
        return _found[0]
    candidates = []
    with contextlib.suppress(RuntimeError):  # no HOME and no passwd entry
        candidates.append(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kafkalab")
    for candidate in candidates:
        try:
            candidate.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            continue
        if os.access(candidate, os.W_OK | os.X_OK):
            _found.append(candidate)
            return candidate
    fallback = Path(tempfile.gettempdir()) / f"kafkalab-{os.getuid()}"
    _check_private(fallback, tried=candidates)
    _found.append(fallback)
    return fallback


def _check_private(path: Path, tried: list[Path]) -> None:
    """Make the fallback folder (0700), or make sure the one there is this user's own directory."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)  # not parents: the temporary directory itself is the system's
    try:
        found = path.lstat()  # lstat: a symlink is refused, never followed
    except OSError as exc:
        why = exc.strerror or str(exc)
    else:
        if stat.S_ISLNK(found.st_mode):
            why = "it is a symlink"
        elif not stat.S_ISDIR(found.st_mode):
            why = "it is not a directory"
        elif found.st_uid != os.getuid():
            why = f"it belongs to another user (uid {found.st_uid})"
        elif not os.access(path, os.W_OK | os.X_OK):
            why = "it cannot be written"
        else:
            if stat.S_IMODE(found.st_mode) & 0o077:
                path.chmod(0o700)  # this user's own folder: private again (the owner alone may chmod)
            return
    home = f" ({', '.join(map(str, tried))} cannot be written)" if tried else ""
    raise ConfigError(
        f"kafkalab cannot keep its state in {path}: {why}{home}.",
        f"Set XDG_CACHE_HOME to a writable directory of yours, or remove {path} if it is yours "
        "(kafkalab makes it anew, private to you).",
    )


def env_file(project: str) -> Path:
    return state_dir() / f"{project}.env"


def connect_config(project: str) -> Path:
    """The worker config of the lab's Kafka Connect, which its container mounts."""
    return state_dir() / f"{project}.connect.properties"


def write(project: str, values: Mapping[str, str]) -> Path:
    """Replace the record whole: a reader (another kafkalab) sees the old one or the new one, never
    a part, and a crash leaves the old one."""
    path = env_file(project)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{project}.env.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(f"{k}={v}\n" for k, v in values.items()))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def read(project: str) -> dict[str, str]:
    """The values the lab was last started with; empty when kafkalab never started it here.
    A record that is there but cannot be read is a ConfigError naming it."""
    path = env_file(project)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is not UTF-8 text"
        raise _unreadable(path, why) from None
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        key, equals, value = line.partition("=")
        if not equals or not key.startswith("KAFKALAB_"):
            raise _unreadable(path, f"line {number} is not a KAFKALAB_NAME=VALUE line")
        values[key] = value
    return values


def _unreadable(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"kafkalab's record of a lab cannot be read: {path}: {why}.",
        f"Remove {path}: the next `kafkalab up` writes it anew (give that `up` the lab's settings).",
    )


def legacy(project: str) -> bool:
    """kafkalab 0.1 made the lab of this name here (and it was not reset since): a record that names
    no mode (0.1's), or that keeps 0.1's layout. Only then are unlabelled objects of that name the lab's."""
    values = read(project)
    return bool(values) and ("KAFKALAB_MODE" not in values or values.get(LAYOUT_KEY, "").startswith(LEGACY_PREFIX))


def layout(project: str) -> str:
    """The recorded layout of the lab's volumes; "" when none is recorded (a new lab, or one of 0.1)."""
    values = read(project)
    return values.get(LAYOUT_KEY) or (PER_MODE if "KAFKALAB_MODE" in values else "")


def adopted(project: str) -> set[str]:
    """The volumes of a 0.1 lab that a later `up` took over: they keep having no label."""
    return {v for v in read(project).get("KAFKALAB_ADOPTED_VOLUMES", "").split(",") if v}


def security_dir(project: str) -> Path:
    """The lab's users, CA and certificates (kafkalab.security.store): mode 0700, kept by `down`."""
    return state_dir() / f"{project}.security"


def forget(project: str) -> None:
    """Forget the lab: its record, its secrets (users, CA, certificates) and its lock file. Only while
    holding its lock (see lock())."""
    import shutil

    shutil.rmtree(security_dir(project), ignore_errors=True)
    env_file(project).unlink(missing_ok=True)
    connect_config(project).unlink(missing_ok=True)
    _lock_file(project).unlink(missing_ok=True)


def _lock_file(project: str) -> Path:
    return state_dir() / f"{project}.lock"


@contextlib.contextmanager
def lock(project: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lab's lock; when another process holds it, call on_wait once and wait for it.

    The holder may remove the lock file (forget(), with the lab's data). A process that opened the
    file before that, and waited, then holds a lock on a file that is no longer there, while a third
    one could make a new file and lock that: so a lock counts only when the file locked is still the
    one at the path; else it is let go and taken again on the file that is there now.
    """
    import fcntl

    path = _lock_file(project)
    waited = False
    while True:
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None and not waited:
                    on_wait()
                waited = True
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                held = os.fstat(handle.fileno())
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is None or (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
                fcntl.flock(handle, fcntl.LOCK_UN)
                continue  # removed while we waited: lock the file that is there now
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
            return
