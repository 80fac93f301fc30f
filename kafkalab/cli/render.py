"""Output. Owns the Rich consoles: data goes to stdout, progress and errors to stderr.

Rich is imported on first use, so that `kafkalab --help` does not pay for it. NO_COLOR is honoured
by Rich itself. JSON is written with plain json.dumps, never through Rich.

Everything that comes from Kafka or Docker (names, keys, values, headers, their messages) prints as
it is: Rich markup is only ever kafkalab's own, around values passed through literal() or as Text
(a group "app[/x]" would otherwise be a markup error, and "orders-[eu]" would print as "orders-"),
and the consoles replace no ":emoji:" codes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kafkalab.lab.modes import OPTIONAL

if TYPE_CHECKING:
    from rich.console import Console

    from kafkalab.docker.pull import ImagePull, PullProgress
    from kafkalab.errors import KafkalabError
    from kafkalab.lab.doctor import Diagnosis
    from kafkalab.lab.status import LabStatus, ServiceStatus

_consoles: dict[str, Console] = {}
_consoles_lock = threading.Lock()  # the spinner makes its console on a thread of its own


def out() -> Console:
    """The console for data (stdout)."""
    with _consoles_lock:
        if "out" not in _consoles:
            from rich.console import Console

            class Out(Console):
                def on_broken_pipe(self) -> None:
                    # Rich would exit 1 here; the command decides (`status | head -1` keeps its code).
                    self.quiet = True
                    raise BrokenPipeError

            _consoles["out"] = Out(highlight=False, emoji=False)
        return _consoles["out"]


def err() -> Console:
    """The console for progress, notes and errors (stderr)."""
    with _consoles_lock:
        if "err" not in _consoles:
            from rich.console import Console

            _consoles["err"] = Console(stderr=True, highlight=False, emoji=False)
        return _consoles["err"]


def reset() -> None:
    """Forget the consoles (tests swap sys.stdout between runs)."""
    _consoles.clear()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def emit(data: Any, as_json: bool, for_people: Callable[[Any], None]) -> None:
    """A command's result: plain JSON of its to_dict() for scripts (--json), else for_people(data)."""
    if not as_json:
        for_people(data)
    elif isinstance(data, list):
        print_json([as_json_data(item) for item in data])
    else:
        print_json(as_json_data(data))


def as_json_data(item: Any) -> Any:
    """Its to_dict() where a result reshapes itself for JSON, else its fields as they are."""
    return item.to_dict() if hasattr(item, "to_dict") else dataclasses.asdict(item)


def literal(value: object) -> str:
    """Text to put into a markup string of kafkalab's own: Rich shows it as it is."""
    from rich.markup import escape

    return escape(str(value))


def note(text: str) -> None:
    """A plain line on stderr, printed as it is (it may hold names from Docker or Kafka)."""
    err().print(text, markup=False)


def command(text: str) -> None:
    """A docker command as it runs (-v): dimmed, on stderr."""
    err().print(f"$ {text}", style="dim", markup=False, soft_wrap=True)


def error(exc: KafkalabError) -> None:
    log_tail: str = getattr(exc, "log_tail", "")  # ReadinessTimeout's, ContainerExited's
    if log_tail:
        lines = log_tail.rstrip("\n").splitlines()
        err().print(f"Last {len(lines)} log lines:", style="bold")
        err().print("\n".join(lines), style="dim", markup=False, soft_wrap=True)
    err().print(f"Error: {exc.message}", style="bold red", markup=False, soft_wrap=True)
    err().print(f"Hint: {exc.hint}", markup=False, soft_wrap=True)


class Spinner:
    """A long step on stderr, in Rich's own Progress: a spinner, its phase and the seconds since it
    began; while images are pulled, a Progress row per image under it (both in one Live).

    Rich has no delayed start: a thread of ours brings the Live on screen `delay` seconds after the
    step began, or at the first show(now=True), so that a quick step stays quiet and importing Rich
    (about 60 ms) never holds up the caller.
    """

    def __init__(self, text: str, delay: float) -> None:
        self.start = time.monotonic()
        self.text = text
        self._now = threading.Event()
        self._lock = threading.Lock()
        self._stopped = False
        self._live: Any = None  # rich.live.Live, once on screen
        self._phase: Any = None  # rich.progress.Progress: the spinner's line
        self._rows: Any = None  # rich.progress.Progress: the pull's rows, once it pulls
        self._images: dict[str, Any] = {}  # image -> its row's TaskID
        threading.Thread(target=self._appear, args=(delay,), daemon=True).start()

    def _appear(self, delay: float) -> None:
        if self._now.wait(delay) and self._stopped:
            return
        from rich.live import Live
        from rich.progress import Progress, SpinnerColumn, TextColumn

        phase = Progress(SpinnerColumn(style="status.spinner"),
                         TextColumn("{task.description} [dim]{task.elapsed:4.1f} s[/dim]"), console=err())
        with self._lock:
            if self._stopped:
                return
            phase.add_task(self.text)
            phase.tasks[0].start_time = self.start  # the seconds count from the step's start, not from now
            self._phase = phase
            # Four frames a second leave the CPU to the JVMs; the first is drawn at once.
            self._live = Live(self._shown(), console=err(), refresh_per_second=4, transient=True)
            self._live.start(refresh=True)

    def _shown(self) -> Any:
        from rich.console import Group

        return self._phase if self._rows is None else Group(self._phase, self._rows)

    def show(self, text: str, *, now: bool = True) -> None:
        """Change the phase; with now, the spinner comes on screen without waiting out its delay."""
        with self._lock:
            self.text = text
            if self._phase is not None:
                self._phase.update(self._phase.task_ids[0], description=text)
        if now:
            self._now.set()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._live is not None:
                self._live.stop()
        self._now.set()

    def pulling(self, progress: PullProgress, finished: ImagePull | None) -> None:
        """The pull's progress: on a terminal a row per image under the spinner (its layers, bytes,
        percent and a bar); elsewhere a plain line as each image is pulled."""
        if not err().is_terminal:
            if finished is not None:
                say(finished.line())
            return
        from rich.progress import BarColumn, Progress, TextColumn

        from kafkalab.docker.pull import megabytes

        with self._lock:
            if self._rows is None:
                self._rows = Progress(
                    # The leading spaces: two between the texts, as the table before (Progress puts one).
                    TextColumn("  {task.description}", markup=False), TextColumn(" {task.fields[layers]} layers"),
                    TextColumn(" {task.fields[bytes]}"), TextColumn(" {task.percentage:3.0f} %"),
                    BarColumn(bar_width=24), console=err(),
                )
                if self._live is not None:
                    self._live.update(self._shown())
            for pull in progress.pulls.values():
                size, got = pull.size, pull.downloaded
                percent = 100 if pull.finished is not None else int(100 * got / size) if size else 0
                row = {"completed": percent, "layers": f"{pull.layers_done}/{len(pull.layers)}",
                       "bytes": f"{megabytes(got)} / {megabytes(size)}"}
                if pull.image not in self._images:
                    self._images[pull.image] = self._rows.add_task(pull.image, total=100, **row)
                else:
                    self._rows.update(self._images[pull.image], **row)


@contextmanager
def progress(first: str, *, delay: float = 0.0) -> Iterator[Spinner]:
    """A spinner on stderr showing `first`; `.show(text)` changes the phase. With a delay, nothing
    shows for that long unless show() comes first: a quick step stays quiet."""
    spinner = Spinner(first, delay)
    try:
        yield spinner
    finally:
        spinner.stop()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table of values as they are: every cell is Text, never markup."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold")  # a value is never cut short ("127.0…"), at worst folded
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    for row in cells:
        t.add_row(*(Text(v) for v in row))
    console = out()
    if console.measure(t, options=console.options.update_width(sys.maxsize)).maximum <= console.width:
        console.print(t)
    else:  # a terminal too narrow for the table: addresses, ports, ids and paths whole, a line each
        _folded(title, columns, cells)


def _folded(title: str | None, columns: Sequence[str], rows: list[list[str]]) -> None:
    """A table as lines: each row's first cell, then its other cells indented under it, "column: value";
    a key-value table (no header over the values) as "key: value"."""
    lines = [title] if title else []
    for first, *rest in rows:
        if len(rest) == 1 and not columns[1]:
            lines.append(f"{first}: {rest[0]}")
            continue
        lines.append(f"{columns[0]} {first}" if columns[0] else first)
        lines += [f"  {name}: {value}" for name, value in zip(columns[1:], rest, strict=True)]
    for line in lines:
        out().print(line, markup=False, highlight=False, soft_wrap=True)


_STATE_STYLE = {
    "healthy": "bold green", "starting": "bold yellow", "degraded": "bold yellow", "stopped": "bold red",
    "not running": "bold red",
}


def lab_status(status: LabStatus) -> None:
    console = out()
    console.print(
        f"Lab [bold]{literal(status.project)}[/bold] ({status.mode}): "
        f"[{_STATE_STYLE[status.state]}]{status.state}[/]"
    )
    if not status.containers:
        return
    table(None, ("service", "state", "status", "published on"), [
        (c.service, c.state, c.status, ", ".join(p.split("->")[0] for p in c.ports if "->" in p))
        for c in status.containers
    ])
    b = status.broker
    n = status.network
    inside = [("network", n.name), ("internal bootstrap", n.bootstrap)] if n is not None else []
    if b is not None:
        table(None, ("broker", ""), [
            ("bootstrap", b.bootstrap),
            *([("from other machines", status.advertised)] if status.advertised else []),
            *([("security", status.security)] if status.security != "plaintext" else []),
            *inside,
            ("cluster id", b.cluster_id),
            ("controller", b.controller_id),
            ("brokers", len(b.brokers)),
            ("topics", b.topics),
            ("partitions", b.partitions),
        ])
    else:
        console.print(f"Broker: [red]{literal(status.broker_error)}[/red]")
        if n is not None:
            console.print(f"Network: {n.name} (containers reach the brokers at {n.bootstrap})",
                          markup=False, highlight=False)
    if status.ui is not None:
        console.print(f"UI: {literal(status.ui.url)} {_health(status.ui, ' (`kafkalab up --wait-ui` waits for it)')}")
    if status.optional:
        table(None, ("service", "url", "on the lab's network", "state"), [
            (OPTIONAL[x.service].title, x.url, x.internal_url, _health_text(x)) for x in status.optional
        ])
    if status.connectors:
        connectors(status.connectors)
    for problem in status.problems:
        console.print(f"[red]✘[/red] {literal(problem)}", highlight=False)
    if status.hint:
        console.print(f"Hint: {status.hint}", markup=False, highlight=False, soft_wrap=True)


def _health(health: ServiceStatus, waits: str = "") -> str:
    """Whether a service that answers HTTP does, as markup: answers, starting (for how long), or why not."""
    style = {"healthy": "green", "starting": "yellow", "failed": "red"}[health.state]
    return f"[{style}]{literal(_health_text(health))}[/{style}]" + (waits if health.starting else "")


def _health_text(health: ServiceStatus) -> str:
    """Whether a service that answers HTTP does: answers, starting (for how long), or why not."""
    if health.healthy:
        return "answers"
    if health.starting:
        since = health.starting_for
        return "starting" + (f" for {since:.0f} s" if since is not None else "")
    return health.detail


def diagnosis(found: Diagnosis) -> None:
    """A row per check of kafkalab doctor: its mark, its name, what it found, and the fix when it failed."""
    from rich.table import Table
    from rich.text import Text

    styles = {"✔": "green", "✘": "bold red", "○": "dim"}
    t = Table(title=f"kafkalab doctor: the lab {found.project} ({found.mode})", title_justify="left",
              title_style="bold")
    for column in ("", "check", "result"):
        t.add_column(column, overflow="fold")
    for check in found.checks:
        result = Text(check.detail)
        if check.fix:
            result.append("\nFix: ", style="bold")
            result.append(check.fix)
        t.add_row(Text(check.mark, style=styles[check.mark]), Text(check.title), result)
    out().print(t)
    failed = found.failed
    if failed:
        more = f"; {len(failed) - 1} more failed" if len(failed) > 1 else ""
        out().print(f"✘ First failure: {failed[0].title} (exit {found.exit_code}){more}; {found.seconds:.1f} s.",
                    markup=False, highlight=False)
    else:
        out().print(f"✔ All checks passed in {found.seconds:.1f} s.", markup=False, highlight=False)


# --- topics, produce, consume, groups ----------------------------------------------------------

if TYPE_CHECKING:
    from kafkalab.connectors.client import Connector, ConnectorState, Plugin
    from kafkalab.kafka.consume import ConsumeResult
    from kafkalab.kafka.contexts import Context
    from kafkalab.kafka.groups import GroupDescription, GroupSummary, ResetPlan
    from kafkalab.kafka.produce import ProduceResult
    from kafkalab.kafka.topics import TopicDescription, TopicSummary
    from kafkalab.schemas.registry import SchemaVersion, SubjectSummary


def say(text: str) -> None:
    """A plain line on stderr, written directly: produce and consume should not wait for Rich to load."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def topics(found: Sequence[TopicSummary]) -> None:
    if not found:
        say("No topics.")
        return
    table(None, ("topic", "partitions", "replication"), [(t.name, t.partitions, t.replication) for t in found])


def topic_description(desc: TopicDescription) -> None:
    messages = sum(p.messages or 0 for p in desc.partitions)
    offline = [str(p.partition) for p in desc.partitions if p.offline]
    # An offline partition's messages are unknown (only its leader knows its offsets): not counted.
    unknown = f" (offline, not counted: partition{'s' if len(offline) > 1 else ''} {', '.join(offline)})" \
        if offline else ""
    out().print(f"Topic {desc.name}: {plural(len(desc.partitions), 'partition')}, {plural(messages, 'message')}"
                f"{unknown}", markup=False, highlight=False, soft_wrap=True)
    table(None, ("partition", "leader", "replicas", "isr", "start offset", "end offset"), [
        (p.partition, "offline" if p.offline else p.leader, ",".join(map(str, p.replicas)), ",".join(map(str, p.isr)),
         _or_dash(p.start_offset), _or_dash(p.end_offset))
        for p in desc.partitions
    ])
    if desc.configs:
        table(None, ("config", "value"), desc.configs)
    else:
        out().print("Configs: all defaults.", markup=False, highlight=False)


def groups(found: Sequence[GroupSummary]) -> None:
    if not found:
        say("No consumer groups.")
        return
    table(None, ("group", "state", "type"), [(g.group, g.state, g.type) for g in found])


def group_description(desc: GroupDescription) -> None:
    out().print(
        f"Group {desc.group}: {desc.state} ({desc.type}), {plural(len(desc.members), 'member')}, "
        f"lag {desc.lag:,}", markup=False, highlight=False, soft_wrap=True,
    )
    if desc.members:
        table(None, ("member", "client id", "host", "partitions"), [
            (m.member_id, m.client_id, m.host, ", ".join(f"{t}:{p}" for t, p in m.assignment))
            for m in desc.members
        ])
    if desc.partitions:
        table(None, ("topic", "partition", "committed", "end offset", "lag", "member"), [
            (p.topic, p.partition, _or_dash(p.committed), _or_dash(p.end), _or_dash(p.lag), _or_dash(p.member_id))
            for p in desc.partitions
        ])


def produce_summary(result: ProduceResult) -> None:
    say(f"Produced {plural(result.delivered, 'message')} to {result.topic} in {result.seconds:.2f} s "
        f"({result.rate:,.0f} msg/s).")
    if result.failed:
        say(f"{result.failed:,} of {plural(result.messages, 'message')} failed:")
        for error, count in result.errors:
            say(f"  {error} ({count:,})")


_STOPPED = {
    "end": "",
    "max": "",
    "timeout": " No message came for the timeout: stopped.",
    "interrupted": " Interrupted.",
    "closed": "",
}


def consume_summary(result: ConsumeResult) -> None:
    committed = f" Committed the offsets of group {result.group}." if result.committed and result.messages else ""
    say(f"Consumed {plural(result.messages, 'message')} from {result.topic} in {result.seconds:.2f} s."
        f"{_STOPPED[result.stopped]}{committed}")


def reset_plan(plan: ResetPlan) -> None:
    """The partitions' current and new offsets; the notes and whether it was applied go to stderr."""
    for note_text in plan.notes:
        say(note_text)
    table(None, ("topic", "partition", "current offset", "new offset"), [
        (p.topic, p.partition, _or_dash(p.current), p.new) for p in plan.partitions
    ])


def contexts(found: Sequence[Context]) -> None:
    """Each context's bootstrap_server and client settings, secrets masked, "${VAR}" as written."""
    rows = []
    for c in found:
        data = c.to_dict()
        rows.append((c.name, "bootstrap_server", _or_dash(data["bootstrap_server"])))
        rows += [(c.name, key, value) for key, value in data["client"].items()]
        rows += [(c.name, key, data[key]) for key in ("schema_registry", "schema_registry_auth") if key in data]
    table(None, ("context", "client setting", "value"), rows)


def subjects(found: Sequence[SubjectSummary]) -> None:
    if not found:
        say("No subjects.")
        return
    table(None, ("subject", "latest version", "type", "id"), [(s.subject, s.version, s.type, s.id) for s in found])


def schema_version(found: SchemaVersion) -> None:
    table(None, ("subject", "version", "type", "id"), [(found.subject, found.version, found.type, found.id)])
    from rich.text import Text

    out().print(Text(found.schema), soft_wrap=True)


def connect_plugins(found: Sequence[Plugin]) -> None:
    table(None, ("class", "type", "version"), [(p.cls, p.type, p.version) for p in found])


def _tasks(found: ConnectorState) -> str:
    return ", ".join(f"{t.id} {t.state}" for t in found.tasks) or "-"


def connectors(found: Sequence[ConnectorState]) -> None:
    if not found:
        say("No connectors.")
        return
    table(None, ("connector", "type", "state", "tasks"), [(c.name, c.type, c.state, _tasks(c)) for c in found])


def connector_state(found: ConnectorState) -> None:
    table(None, ("connector", "type", "state", "worker"), [(found.name, found.type, found.state, found.worker)])
    if found.tasks:
        table(None, ("task", "state", "worker"), [(t.id, t.state, t.worker) for t in found.tasks])
    from rich.text import Text

    for what, trace in ((f"Connector {found.name}", found.trace),
                        *((f"Task {t.id}", t.trace) for t in found.tasks if t.trace)):
        if trace:
            out().print(Text(f"{what} failed:\n{trace.rstrip()}"), soft_wrap=True)


def task_count(ids: Sequence[int]) -> str:
    """A connector's tasks as describe shows them: how many, and their ids ("1 (id 0)", "2 (ids 0, 1)")."""
    if not ids:
        return "0"
    return f"{len(ids)} ({'id' if len(ids) == 1 else 'ids'} {', '.join(map(str, ids))})"


def connector_description(found: Connector) -> None:
    table(None, ("connector", "type", "tasks"), [(found.name, found.type, task_count(found.tasks))])
    table(None, ("setting", "value"), sorted(found.config.items()))
