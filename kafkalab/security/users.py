"""The lab's users: declared in the config file, or one made by kafkalab.

    # kafkalab.toml (or [tool.kafkalab] of pyproject.toml, or your own file)
    [users.orders-svc]
    password = "${ORDERS_PASSWORD}"

A "${VAR}" is read from the environment when the lab starts. Without any [users.NAME], the lab has one
user, `kafkalab`, with a random password, kept with the lab's state (kafkalab.security.store). The
first user is the one kafkalab's own clients log in as.

May import: kafkalab.errors, kafkalab.settings (the tables).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from kafkalab.errors import ConfigError

DEFAULT_USER = "kafkalab"
# SCRAM's and JAAS's own syntax: the password sits in `[password=...]` and in `user_NAME="..."`.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Line ends too, Unicode's among them: ConfigCommand's `password=(.*)` stops at each.
_FORBIDDEN = set('"\\,[]=') | {" ", "\t", "\n", "\r", "\x85", "\u2028", "\u2029"}


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    password: str


def generated() -> User:
    """The user kafkalab makes when none is declared: a password of 32 URL-safe characters."""
    return User(DEFAULT_USER, secrets.token_urlsafe(24))


def declared(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> tuple[User, ...]:
    """The [users.NAME] tables of the user's file and the found project file (which wins by name),
    checked, with every "${VAR}" read from the environment."""
    import os

    from kafkalab.settings import config_tables

    env = os.environ if env is None else env
    found: dict[str, User] = {}
    for table, path, _own in config_tables("users", cwd):
        for name, body in table.items():
            where = f"{path}: user {name}"
            if not _NAME.fullmatch(str(name)):
                raise ConfigError(f"{where}: the name is not letters, digits, '.', '_' and '-'.",
                                  "Rename the user in [users.NAME].")
            if not isinstance(body, dict) or set(body) != {"password"} or not isinstance(body["password"], str):
                raise ConfigError(f"{where} is not a table with one key, password, a string.",
                                  f'Write it as [users.{name}] with password = "${{VARIABLE}}".')
            password = _expand(body["password"], f"user {name} in {path}", env)
            check_password(password, where)
            found[str(name)] = User(str(name), password)
    return tuple(found.values())


def _expand(value: str, where: str, env: Mapping[str, str]) -> str:
    def read(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            raise ConfigError(f"The password of {where} reads the environment variable {match.group(1)}, "
                              "which is not set.",
                              f"Set {match.group(1)} (export {match.group(1)}=...) before `kafkalab up`.")
        return env[match.group(1)]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", read, value)


def check_password(password: str, where: str) -> None:
    if not password:
        raise ConfigError(f"{where}: the password is empty.", "Set the variable it reads to a password.")
    bad = sorted(set(password) & _FORBIDDEN)
    if bad:
        raise ConfigError(
            f"{where}: the password holds {bad[0]!r}, which the brokers' SCRAM and JAAS settings cannot carry.",
            "Use letters, digits and punctuation other than \" \\ , [ ] = and no spaces.",
        )
