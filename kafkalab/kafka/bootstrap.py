"""Where the brokers are: the bootstrap list checked (parse_bootstrap), and the one way of saying
that no broker answers there (unreachable, with the hint of unreachable_hint()).

May import: kafkalab.errors only (no confluent_kafka: contexts.py checks addresses without it).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from kafkalab.errors import BrokerUnreachable, ConfigError

BOOTSTRAP_HINT = (
    "Give the brokers as HOST:PORT[,HOST:PORT...], such as localhost:9092 or SASL_SSL://[::1]:9093."
)
# Kafka's security protocols: the schemes librdkafka takes before "://" (in any case).
SCHEMES = ("plaintext", "ssl", "sasl_plaintext", "sasl_ssl")


def parse_bootstrap(text: str, where: str = "--bootstrap-server") -> str:
    """The bootstrap list `text` with its blanks removed, or ConfigError saying what is wrong with it.

    Entries are HOST:PORT, with an optional SCHEME:// (one of Kafka's security protocols, SCHEMES,
    as librdkafka takes them) and IPv6 hosts in brackets. librdkafka would take almost anything and then time out after
    seconds; this says at once. `where` names the source of the text in the message.
    """

    def bad(why: str) -> ConfigError:
        return ConfigError(f"Bad {where} {text!r}: {why}.", BOOTSTRAP_HINT)

    if not text.strip():
        raise bad("it is empty")
    raws = text.split(",")
    entries = []
    for raw in raws:
        entry = raw.strip()
        # Name the entry at fault only in a list of them.
        it, of = ("it", "") if len(raws) == 1 else (repr(entry), f" of {entry!r}")
        if not entry:
            raise bad("an entry is empty")
        scheme, sep, address = entry.rpartition("://")
        if sep and not scheme:
            raise bad(f"{it} has no scheme before ://")
        if sep and scheme.lower() not in SCHEMES:
            raise bad(f"scheme {scheme}://{of} is not one of Kafka's security protocols ({', '.join(SCHEMES)})")
        host, sep, port = address.rpartition(":")
        if not sep or not port:
            raise bad(f"{it} is not HOST:PORT")
        if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
            raise bad(f"port {port}{of} is not a number from 1 to 65535")
        inner = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not inner:
            raise bad(f"the host{of} is empty")
        if ":" in host and inner == host:
            raise bad(f"the IPv6 host{of} goes in brackets, as [::1]:9092")
        if any(c.isspace() or c in "/[]" for c in inner):
            raise bad(f"host {inner!r}{of} is not a host name or address")
        entries.append(entry)
    return ",".join(entries)


_hint_unreachable: contextvars.ContextVar[str | None] = contextvars.ContextVar("hint_unreachable", default=None)


@contextlib.contextmanager
def unreachable_hint(hint: str | None) -> Iterator[None]:
    """Inside it, BrokerUnreachable has this hint instead of its default (start the lab).

    The CLI enters it when the address is not the lab's: then starting the lab would not help.
    """
    token = _hint_unreachable.set(hint)
    try:
        yield
    finally:
        _hint_unreachable.reset(token)


def unreachable(message: str, hint: str | None = None) -> BrokerUnreachable:
    """The one place BrokerUnreachable is made: with `hint`, else the one of unreachable_hint()."""
    return BrokerUnreachable(message, hint or _hint_unreachable.get())
