"""Shell completion of the names that exist: topics, consumer groups and contexts.

Click's own completion (`kafkalab completion bash|zsh|fish` prints its script) calls these while
the user presses Tab, with what is typed so far: -b, -X and --context count as they do for the
command. A completion never errors and never hangs: the broker is asked on a worker thread,
and whatever did not answer within DEADLINE seconds completes nothing. With client settings that load
code or run commands (contexts.CODE_SETTINGS) it asks no broker at all. Choices (services for
`logs`, modes for `up --mode`) Click completes by itself.

May import: click, kafkalab.cli.options (CLIENT_SETTINGS), kafkalab.settings; kafkalab.kafka lazily.
Not kafkalab.cli.main: the completion command hands its root command in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import click

from kafkalab.cli.options import CLIENT_SETTINGS
from kafkalab.settings import GLOBAL_FLAGS

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

DEADLINE = 0.5  # seconds a completion waits for the broker: the whole Tab stays under 1 s
REQUEST_TIMEOUT = 0.4  # the broker request's own timeout, inside the deadline
COMPLETE_VAR = "_KAFKALAB_COMPLETE"  # set by the completion script when Tab is pressed (Click's name)


def _target(ctx: click.Context) -> tuple[str, dict[str, str]]:
    """The brokers and client settings the command being typed would use. ValueError when they load
    code or run a command (contexts.CODE_SETTINGS): a Tab press never does that, whichever file
    or -X gave them."""
    from kafkalab.kafka.contexts import loads_code, resolve_target

    root = ctx.find_root()
    flags = {name: root.params.get(name) for name in GLOBAL_FLAGS}
    target = resolve_target(flags, ctx.params.get("bootstrap_server"), ctx.meta.get(CLIENT_SETTINGS, {}))
    if any(loads_code(key) for key in target.client):
        raise ValueError("settings that load code: no completion")
    return target.bootstrap, dict(target.client)


def within_deadline(ask: Callable[[], list[str]]) -> list[str]:
    """ask() on a worker thread; [] when it fails or takes longer than DEADLINE. A worker still
    asking is left behind (end_now() ends the process without waiting for it)."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return list(pool.submit(ask).result(timeout=DEADLINE))
    except Exception:  # a failure, or no answer in time, completes nothing: Tab must never print an error
        return []
    finally:
        pool.shutdown(wait=False)


def end_now(code: int) -> None:
    """End a Tab press's process at once. Python would wait at exit for a worker of within_deadline()
    that is still asking (a DNS lookup that hangs is bounded by no timeout of ours): Tab would wait
    longer than DEADLINE."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _names(ctx: click.Context, incomplete: str, what: Callable[[str], list[str]]) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

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

    return [CompletionItem(name) for name in within_deadline(ask) if name.startswith(incomplete)]


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
    from click.shell_completion import CompletionItem

    from kafkalab.kafka.contexts import load_contexts

    try:
        names = sorted(load_contexts())
    except Exception:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def script(cli: click.Command, shell: str) -> str:
    """The completion script of `shell` for the kafkalab command, as Click writes it."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - the command's choices are the shells Click has
        raise ValueError(f"no completion for {shell}")
    return cls(cli, {}, "kafkalab", COMPLETE_VAR).source()
