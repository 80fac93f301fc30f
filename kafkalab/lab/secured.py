"""A secured lab and one that other machines reach, as `up` and the lab's own clients need them: the
exposure checked before anything starts, the secrets made (kafkalab.security.store), the SCRAM users
made in the running brokers, kafkalab's own client settings, and a lab whose security differs from
what it runs with refused.

May import: kafkalab.errors, kafkalab.settings, kafkalab.lab.{modes,state}, kafkalab.security,
kafkalab.docker.run (the `docker exec` that makes the users).
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
import subprocess
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kafkalab.errors import ConfigError, KafkalabError
from kafkalab.lab import state
from kafkalab.lab.modes import MODES
from kafkalab.security import store
from kafkalab.security.listener import EVERYWHERE, SCRAM
from kafkalab.security.users import User
from kafkalab.settings import env_name

if TYPE_CHECKING:
    from kafkalab.settings import Settings

# The settings that make the lab's listener what it is: a running lab started with others is refused.
SECURITY_SETTINGS = ("security", "expose", "advertise", "expose_ui")
_DEFAULTS = {"security": "plaintext", "expose": "", "advertise": "", "expose_ui": "false"}
# Kafka's ConfigCommand, run in the first broker's container: 4.x has it in kafka-tools, 3.9 (cp-kafka)
# in the core jar; apache/kafka keeps its jars in /opt/kafka/libs, cp-kafka in /usr/share/java/kafka.
_CONFIG_COMMAND = {"zookeeper": "kafka.admin.ConfigCommand"}
_TOOLS = "org.apache.kafka.tools.ConfigCommand"
_CLASSPATH = "/opt/kafka/libs/*:/usr/share/java/kafka/*"
# In the container: the credential read from standard input into a file only its owner reads (the
# broker's user), given to ConfigCommand by name, and removed however the script ends.
_MAKE_USER = (
    'umask 077 && f=$(mktemp) || exit 1\n'
    'trap \'rm -f "$f"\' EXIT\n'
    'trap \'exit 1\' HUP INT TERM\n'
    'cat >"$f" || exit 1\n'
    'java -Xmx128M -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "{classpath}" {main} '
    '--bootstrap-server localhost:9092 --alter --entity-type users --entity-name "$1" --add-config-file "$f"\n'
)
_ADDRESSES = "Give one of this machine's addresses (`ip -brief address` lists them), or 0.0.0.0."


def check_exposure(settings: Settings) -> None:
    """Before anything starts (ConfigError, exit 3): the expose address is this machine's and not
    its loopback (or 0.0.0.0, which then needs advertise), and a plaintext lab is exposed only with
    insecure."""
    s = settings
    if s.advertise and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*|[0-9A-Fa-f:.]+", s.advertise):
        raise ConfigError(f"advertise {s.advertise!r} is not a host name or an IP address.",
                          "Give the name or address other machines reach this one by.")
    if not s.expose:
        if s.advertise:
            raise ConfigError(f"advertise is {s.advertise}, but the lab is published on 127.0.0.1 only.",
                              "Give --expose ADDRESS too (one of this machine's addresses, or 0.0.0.0).")
        return
    try:
        ipaddress.ip_address(s.expose)
    except ValueError:
        raise ConfigError(f"expose {s.expose!r} is not an IP address.", _ADDRESSES) from None
    if ipaddress.ip_address(s.expose).is_loopback:
        raise ConfigError(f"--expose {s.expose} is this machine's loopback address: other machines cannot reach it.",
                          "Give an address of this machine's that other machines reach (`ip -brief address` "
                          "lists them), or 0.0.0.0 with --advertise HOST.")
    if s.expose == EVERYWHERE and not s.advertise:
        raise ConfigError("--expose 0.0.0.0 publishes the brokers on every address: which one others use is unknown.",
                          "Give --advertise HOST: the name or address other machines reach this one by.")
    if s.expose != EVERYWHERE and not is_local_address(s.expose):
        raise ConfigError(f"This machine has no address {s.expose} (--expose).", _ADDRESSES)
    if s.security == "plaintext" and not s.insecure:
        raise ConfigError(
            f"The lab would be exposed on {s.expose} with no login and no TLS (--security plaintext): refused "
            "without --insecure.",
            "Choose a secured listener with --security (sasl-ssl, say), or give --insecure to expose it as it is.",
        )


def is_local_address(address: str) -> bool:
    """This machine has the address: a socket can be bound to it (EADDRNOTAVAIL when not)."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError as exc:
            return exc.errno != errno.EADDRNOTAVAIL
    return True


def check_advertised(settings: Settings) -> tuple[bool | None, str, str | None]:
    """doctor's check of an exposed lab: the advertised host resolves, and to addresses of this
    machine's, not only loopback ones, where the brokers are published. (ok, what was found, the fix.)"""
    from kafkalab.security.listener import advertised_host

    if not settings.expose:
        return True, "localhost: the lab is published on 127.0.0.1 only (other machines reach it with --expose)", None
    host = advertised_host(settings)
    try:
        found = sorted({str(a[4][0]) for a in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except OSError as exc:
        return False, f"{host} does not resolve here ({exc.strerror or exc})", (
            "Advertise a name that this machine and the others resolve (DNS, /etc/hosts), or an address: --advertise.")
    foreign = [a for a in found if not is_local_address(a)]
    if foreign:
        return False, f"{host} resolves to {', '.join(foreign)}, which is not this machine's", (
            "Advertise one of this machine's names or addresses (--advertise), the one other machines reach it by.")
    if all(ipaddress.ip_address(a.partition("%")[0]).is_loopback for a in found):
        loopback = ", ".join(found)
        return False, f"{host} resolves only to loopback addresses ({loopback}): other machines cannot reach it", (
            "Advertise the name or address other machines reach this one by: --advertise.")
    published = settings.expose if settings.expose != EVERYWHERE else "every address"
    return True, f"{host} ({', '.join(found)}) is this machine's; the brokers are published on {published}", None


def check_same(settings: Settings, running: bool) -> None:
    """The lab runs with the security settings of its record (none recorded: plaintext, as labs of
    earlier versions): settings that differ are refused as differing ports are."""
    if not running:
        return
    recorded = state.read(settings.project)
    for name in SECURITY_SETTINGS:
        was = recorded.get(env_name(name), _DEFAULTS[name])
        now = str(getattr(settings, name)).lower() if name == "expose_ui" else str(getattr(settings, name))
        if was != now:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(
                f"The lab {settings.project} is already running with {name} {was or '(none)'}, not {now or '(none)'}.",
                f"Use the same {name} setting ({flag}), or `kafkalab down` it first (its data is kept).",
            )


def prepare(settings: Settings) -> store.LabSecurity | None:
    """The secured lab's users, CA and certificates, before its brokers start; None for plaintext."""
    return store.prepare(settings, [b.name for b in MODES[settings.mode].brokers])


def client_settings(settings: Settings) -> dict[str, str]:
    """librdkafka's settings with which kafkalab's own clients reach the lab: its mode's, its first
    user's, its CA's; empty for a plaintext lab."""
    found = store.load(settings)
    return found.client_settings() if found else {}


def create_users(settings: Settings, container: str, users: Iterable[User], deadline: float,
                 env: dict[str, str]) -> None:
    """Make (or update) each user's SCRAM-SHA-512 credential with Kafka's ConfigCommand in the first
    broker's container, over its PLAINTEXT listener: retried until the broker answers, by the deadline.
    The password goes over the standard input of `docker exec -i` into a file of the container's
    (0600, removed after) that ConfigCommand reads (--add-config-file): never on a command line, nor
    in an environment that `docker inspect` or /proc shows."""
    from kafkalab.docker.run import run_docker

    script = _MAKE_USER.format(classpath=_CLASSPATH, main=_CONFIG_COMMAND.get(settings.mode, _TOOLS))
    for user in users:
        output = ""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KafkalabError(
                    f"The lab's user {user.name} could not be made in {container}: {output.strip()[-300:]}",
                    "`kafkalab logs kafka` says why the broker does not answer; then run `kafkalab up` again.",
                )
            try:
                done = run_docker(["exec", "-i", container, "sh", "-c", script, "sh", user.name], env,
                                  min(left, 60), input=scram_credential(user.password))
            except subprocess.TimeoutExpired:
                continue
            if done.returncode == 0:
                break
            output = done.stdout + done.stderr
            time.sleep(0.5)  # the broker is starting: its PLAINTEXT listener is not up yet


def scram_credential(password: str) -> str:
    """ConfigCommand's --add-config-file line that sets a SCRAM-SHA-512 credential. Kafka 3.9 and 4.x
    read that file with java.util.Properties.load (Utils.loadProps) and, unlike --add-config, strip
    no brackets from it: the value is `password=...` as it is, matched by ConfigCommand's
    `(?:iterations=N,)?password=(.*)`, in the escapes of a .properties file."""
    return f"{SCRAM}={properties_value('password=' + password)}\n"


def properties_value(value: str) -> str:
    """`value` as java.util.Properties.load(InputStream) reads it back: that reads ISO-8859-1 and
    takes backslash escapes, so a backslash is doubled, a leading space escaped (load skips it), and
    every character outside printable ASCII written as \\uXXXX (UTF-16 code units: a character
    beyond the BMP is two, which load joins again)."""
    found: list[str] = []
    for index, char in enumerate(value):
        if char == "\\":
            found.append("\\\\")
        elif char == " " and index == 0:
            found.append("\\ ")
        elif " " <= char <= "~":
            found.append(char)
        else:
            units = char.encode("utf-16-be")
            found += [f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)]
    return "".join(found)


def answers_config(settings: Settings) -> dict[str, Any]:
    """wire.answers' keywords for the lab's listener: TLS, and the client's certificate for mtls."""
    found = store.load(settings)
    if not found or not found.mode.tls:
        return {}
    return {"tls": True, "cert": (str(found.client_cert), str(found.client_key)) if found.mode.client_cert else None}
