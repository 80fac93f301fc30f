"""Shell completion of the names that exist: topics, consumer groups and contexts.

Click's own completion (`kafkalab completion bash|zsh|fish` prints its script) calls these while
the user presses Tab, with what is typed so far: -b, -X and --context count as they do for the
command. A completion never errors and never hangs: the broker is asked on a thread of its own,
and whatever did not answer within DEADLINE seconds completes nothing. With client settings that load
code or run commands (clientconf.CODE_SETTINGS) it asks no broker at all. Choices (services for
`logs`, modes for `up --mode`) Click completes by itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import CompletionItem

DEADLINE = 0.5  # seconds a completion waits for the broker: the whole Tab stays under 1 s
REQUEST_TIMEOUT = 0.4  # the broker request's own timeout, inside the deadline


def _target(ctx: click.Context) -> tuple[str, dict[str, str]]:
    """The brokers and client settings the command being typed would use. ValueError when they load
    code or run a command (clientconf.CODE_SETTINGS): a Tab press never does that, whichever file
    or -X gave them."""
    from kafkalab.cli.main import CLIENT_SETTINGS
    from kafkalab.kafka.contexts import loads_code, resolve_target

    root = ctx.find_root()
    flags = {k: root.params.get(k) for k in ("project", "port", "ui_port", "zookeeper_port", "context")}
    target = resolve_target(flags, ctx.params.get("bootstrap_server"), ctx.meta.get(CLIENT_SETTINGS, {}))
    if any(loads_code(key) for key in target.client):
        raise ValueError("settings that load code: no completion")
    return target.bootstrap, dict(target.client)


def _within_deadline(ask: Callable[[], list[str]]) -> list[str]:
    """ask() on a daemon thread; [] when it fails or takes longer than DEADLINE."""
    found: list[str] = []

    def run() -> None:
        try:
            found.extend(ask())
        except Exception:  # any failure completes nothing: Tab must never print an error
            found.clear()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(DEADLINE)
    return list(found) if not worker.is_alive() else []


def _names(ctx: click.Context, incomplete: str, what: Callable[[str], list[str]]) -> list[CompletionItem]:
    try:
        bootstrap, client = _target(ctx)
    except Exception:  # a bad -b or context, or settings that load code: nothing to complete
        return []

    def ask() -> list[str]:
        from kafkalab.kafka.clients import client_settings
        from kafkalab.kafka.cluster import check_reachable

        check_reachable(bootstrap, timeout=REQUEST_TIMEOUT)
        with client_settings(client):  # a context variable: set on this thread
            return what(bootstrap)

    return [CompletionItem(name) for name in _within_deadline(ask) if name.startswith(incomplete)]


def topics(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The cluster's topics (Kafka's internal ones once "__" is typed)."""
    from kafkalab.kafka.topics import list_topics

    internal = incomplete.startswith("__")
    return _names(ctx, incomplete, lambda bootstrap: [
        t.name for t in list_topics(bootstrap, include_internal=internal, timeout=REQUEST_TIMEOUT)
    ])


def groups(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The cluster's consumer groups."""
    from kafkalab.kafka.groups import list_groups

    return _names(ctx, incomplete, lambda bootstrap: [
        g.group for g in list_groups(bootstrap, timeout=REQUEST_TIMEOUT)
    ])


def contexts(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The contexts of the config file: no broker is asked."""
    from kafkalab.kafka.contexts import load_contexts

    try:
        names = sorted(load_contexts())
    except Exception:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def script(cli: Any, shell: str) -> str:
    """The completion script of `shell` for the kafkalab command, as Click writes it."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - the command's choices are the shells Click has
        raise ValueError(f"no completion for {shell}")
    return cls(cli, {}, "kafkalab", "_KAFKALAB_COMPLETE").source()
