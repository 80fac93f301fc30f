"""Options and callbacks shared by several commands: -b and -X of the Kafka commands (and the
brokers they resolve to), KEY=VALUE pairs, times, separators, the modes and pull policies.

May import: click, kafkalab.cli.app, kafkalab.lab.modes, kafkalab.security.listener, kafkalab.settings;
kafkalab.kafka lazily (inside the callbacks: `kafkalab --help` must not load confluent_kafka). No command module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from kafkalab.cli.app import CliState, work_begins
from kafkalab.lab.modes import MODE_NAMES
from kafkalab.security.listener import SECURITY_MODES
from kafkalab.settings import PULL_POLICIES

MODE = click.Choice(MODE_NAMES)
PULL = click.Choice(PULL_POLICIES)
SECURITY = click.Choice(SECURITY_MODES)

F = TypeVar("F", bound=Callable[..., Any])

CLIENT_SETTINGS = "kafkalab.client_settings"  # -X, parsed, in the command's Context.meta
TARGET_REPLICATION = "kafkalab.replication"  # a new topic's default replication there (contexts.Target)


def bootstrap_option(f: F) -> F:
    """-b and -X, which every Kafka command takes after its name (as kcat does)."""
    f = click.option(
        "-X", "client_settings", multiple=True, metavar="KEY=VALUE", expose_value=False,
        callback=client_settings_callback,
        help="A librdkafka client setting, such as -X security.protocol=SASL_SSL (repeatable; wins over "
             "the context's).",
    )(f)
    return click.option(
        "--bootstrap-server", "-b", "bootstrap_server", metavar="HOST:PORT",
        help="The Kafka to use instead of the lab [KAFKALAB_BOOTSTRAP_SERVER; default: the context's, or the lab].",
    )(f)


def client_settings_callback(ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> None:
    from kafkalab.kafka.contexts import parse_settings

    try:
        ctx.meta[CLIENT_SETTINGS] = parse_settings(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def bootstrap_servers(state: CliState, bootstrap_server: str | None) -> str:
    """The brokers of a Kafka command (contexts.resolve_target: -b, the context, the
    bootstrap_server setting, the lab), with its client settings (the context's, then -X) in
    force until the command ends. Settings only: `Lab` would import the Docker side."""
    from kafkalab.errors import BrokerUnreachable
    from kafkalab.kafka.bootstrap import unreachable_hint
    from kafkalab.kafka.clients import client_settings
    from kafkalab.kafka.contexts import resolve_target

    work_begins()
    ctx = click.get_current_context()
    target = resolve_target(state.flags, bootstrap_server, ctx.meta.get(CLIENT_SETTINGS, {}))
    ctx.with_resource(client_settings(target.client))
    ctx.meta[TARGET_REPLICATION] = target.replication
    if not target.lab:  # were no broker to answer there, starting the lab would not help
        ctx.with_resource(unreachable_hint(BrokerUnreachable.hint_elsewhere))
    return target.bootstrap


def pairs_callback(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, str]]:
    from kafkalab.kafka.records import parse_pairs

    try:
        return parse_pairs(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def time_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    from kafkalab.kafka.records import parse_time

    try:
        return None if value is None else parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def separator_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> bytes | None:
    from kafkalab.kafka.records import unescape_separator

    try:
        return None if value is None else unescape_separator(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
