"""Output. Owns the Rich consoles: data goes to stdout, progress and errors to stderr.

Rich is imported on first use, so that `kafkalab --help` does not pay for it. NO_COLOR is honoured
by Rich itself. JSON is written with plain json.dumps, never through Rich.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from kafkalab.errors import KafkalabError
    from kafkalab.lab import LabStatus

_consoles: dict[str, Console] = {}


def out() -> Console:
    """The console for data (stdout)."""
    if "out" not in _consoles:
        from rich.console import Console

        _consoles["out"] = Console(highlight=False)
    return _consoles["out"]


def err() -> Console:
    """The console for progress, notes and errors (stderr)."""
    if "err" not in _consoles:
        from rich.console import Console

        _consoles["err"] = Console(stderr=True, highlight=False)
    return _consoles["err"]


def reset() -> None:
    """Forget the consoles (tests swap sys.stdout between runs)."""
    _consoles.clear()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def note(text: str) -> None:
    err().print(text)


def command(text: str) -> None:
    """A docker command as it runs (-v): dimmed, on stderr."""
    err().print(f"$ {text}", style="dim", markup=False)


def error(exc: KafkalabError) -> None:
    from kafkalab.errors import ReadinessTimeout

    if isinstance(exc, ReadinessTimeout) and exc.log_tail:
        lines = exc.log_tail.rstrip("\n").splitlines()
        err().print(f"Last {len(lines)} log lines:", style="bold")
        err().print("\n".join(lines), style="dim", markup=False)
    err().print(f"Error: {exc.message}", style="bold red", markup=False, soft_wrap=True)
    err().print(f"Hint: {exc.hint}", markup=False, soft_wrap=True)


class _Elapsed:
    """A spinner line that shows its phase and the seconds since it started, re-rendered live."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.text = ""

    def __rich__(self) -> str:
        return f"{self.text} [dim]{time.monotonic() - self.start:4.1f} s[/dim]"


@contextmanager
def progress(first: str) -> Iterator[_Elapsed]:
    """A spinner on stderr; set `.text` on what it yields to change the phase."""
    line = _Elapsed()
    line.text = first
    with err().status(line):  # type: ignore[arg-type]  # any renderable works
        yield line


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.table import Table

    t = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    out().print(t)


_STATE_STYLE = {"healthy": "bold green", "degraded": "bold yellow", "not running": "bold red"}


def lab_status(status: LabStatus) -> None:
    console = out()
    console.print(
        f"Lab [bold]{status.project}[/bold] ({status.mode}): "
        f"[{_STATE_STYLE[status.state]}]{status.state}[/]"
    )
    if not status.containers:
        return
    table(None, ("service", "container", "state", "status", "ports"), [
        (c.service, c.name, c.state, c.status, ", ".join(c.ports)) for c in status.containers
    ])
    b = status.broker
    if b is not None:
        table(None, ("broker", ""), [
            ("bootstrap", b.bootstrap),
            ("cluster id", b.cluster_id),
            ("controller", b.controller_id),
            ("brokers", len(b.brokers)),
            ("topics", b.topics),
            ("partitions", b.partitions),
        ])
    else:
        console.print(f"Broker: [red]{status.broker_error}[/red]")
    if status.ui is not None:
        mark = "[green]answers[/green]" if status.ui.healthy else f"[red]{status.ui.detail}[/red]"
        console.print(f"UI: {status.ui.url} {mark}")
