"""A secured lab's secrets, kept with the lab's state (kafkalab.lab.state.security_dir, mode 0700):
users.json (the users and their passwords, 0600), the CA (ca.pem, ca.key), a certificate per broker
(NAME.pem, NAME.key) and the client's (client.pem, client.key, and client-keystore.pem: key and
certificate in one file, for Java). Keys are 0600. `down` keeps them, so that clients keep trusting
the lab; `down --volumes` deletes them with the lab's record.

LabSecurity is what kafkalab's own clients, `kafkalab connect` and the compose files take from them.

May import: kafkalab.errors, kafkalab.lab.state, kafkalab.security.{certs,listener,users}; the
settings for their types only.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kafkalab.errors import ConfigError
from kafkalab.lab import state
from kafkalab.security import certs
from kafkalab.security.listener import MODES, SecurityMode, advertised_host
from kafkalab.security.users import User, check_password, declared, generated

if TYPE_CHECKING:
    from kafkalab.settings import Settings

USERS_FILE = "users.json"
KEYSTORE = "client-keystore.pem"


@dataclasses.dataclass(frozen=True)
class LabSecurity:
    """A lab's security mode, where its secrets are, and its users (the first is kafkalab's own)."""

    mode: SecurityMode
    folder: Path
    users: tuple[User, ...]

    @property
    def ca(self) -> Path:
        return self.folder / f"{certs.CA}.pem"

    @property
    def client_cert(self) -> Path:
        return self.folder / f"{certs.CLIENT}.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / f"{certs.CLIENT}.key"

    @property
    def user(self) -> User | None:
        return self.users[0] if self.users else None

    def client_settings(self, *, mask: str | None = None) -> dict[str, str]:
        """librdkafka's settings for the lab's EXTERNAL listener; the password shown as `mask` when given."""
        found = {"security.protocol": self.mode.protocol}
        if self.mode.sasl:
            user = self.user or User("", "")
            found.update({"sasl.mechanism": self.mode.mechanism, "sasl.username": user.name,
                          "sasl.password": mask or user.password})
        if self.mode.tls:
            found["ssl.ca.location"] = str(self.ca)
        if self.mode.client_cert:
            found.update({"ssl.certificate.location": str(self.client_cert), "ssl.key.location": str(self.client_key)})
        return found

    def env(self, *, mask: str | None = None) -> dict[str, str]:
        """The conventional variables of the same settings: KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_USERNAME, ..."""
        return {"KAFKA_" + key.upper().replace(".", "_"): value
                for key, value in self.client_settings(mask=mask).items()}

    def java_properties(self, bootstrap: str, *, mask: str | None = None) -> str:
        """A Java client's .properties: PEM truststore and keystore, which Java 17+ clients read."""
        lines = [f"bootstrap.servers={bootstrap}", f"security.protocol={self.mode.protocol}"]
        if self.mode.sasl:
            user = self.user or User("", "")
            module = ("org.apache.kafka.common.security.plain.PlainLoginModule" if self.mode.mechanism == "PLAIN"
                      else "org.apache.kafka.common.security.scram.ScramLoginModule")
            password = mask or user.password
            lines += [f"sasl.mechanism={self.mode.mechanism}",
                      f'sasl.jaas.config={module} required username="{user.name}" password="{password}";']
        if self.mode.tls:
            lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={self.ca}"]
        if self.mode.client_cert:
            lines += ["ssl.keystore.type=PEM", f"ssl.keystore.location={self.folder / KEYSTORE}"]
        return "\n".join(lines) + "\n"

    def secret_env(self, brokers: Sequence[str]) -> dict[str, str]:
        """The compose files' secret variables (never written to the record): PLAIN's users for the
        broker's JAAS configuration, the CA and each broker's key and certificate, as PEM."""
        plain = "".join(f' user_{u.name}="{u.password}"' for u in self.users)
        env = {"KAFKALAB_PLAIN_JAAS": f"org.apache.kafka.common.security.plain.PlainLoginModule required{plain};"}
        if self.ca.is_file():
            env["KAFKALAB_TLS_CA"] = self.ca.read_text()
            for broker in brokers:
                pem = self.folder / f"{broker}.pem"
                key = self.folder / f"{broker}.key"
                if pem.is_file() and key.is_file():
                    env[tls_variable(broker)] = key.read_text() + pem.read_text()
        return env


def tls_variable(broker: str) -> str:
    """The variable of a broker's PEM keystore (key, then certificate): KAFKALAB_TLS_KAFKA_2 for kafka-2."""
    return "KAFKALAB_TLS_" + broker.upper().replace("-", "_")


def load(settings: Settings) -> LabSecurity | None:
    """The lab's security as its state has it; None for a plaintext lab (and labs of earlier versions)."""
    if settings.security == "plaintext":
        return None
    folder = state.security_dir(settings.project)
    return LabSecurity(MODES[settings.security], folder, _read_users(folder))


def _read_users(folder: Path) -> tuple[User, ...]:
    path = folder / USERS_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        return tuple(User(str(u["name"]), str(u["password"])) for u in found["users"])
    except FileNotFoundError:
        return ()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"The lab's users cannot be read from {path}: {exc}.",
                          f"Remove {path}: the next `kafkalab up` writes it anew.") from None


def prepare(settings: Settings, brokers: Sequence[str], cwd: Path | None = None) -> LabSecurity | None:
    """What a secured lab needs before its brokers start: its folder, its users (those declared, or
    the one kafkalab made before, or a new one), its CA (kept while it is there), a certificate per
    broker for its names and the advertised host (made again when they changed), and the client's."""
    if settings.security == "plaintext":
        return None
    folder = state.security_dir(settings.project)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    users = declared(cwd)
    if not users:
        kept = [u for u in _read_users(folder) if u.name == "kafkalab"]
        users = tuple(kept[:1]) or (generated(),)
    for user in users:
        check_password(user.password, f"user {user.name}")
    certs.write_private(folder / USERS_FILE, json.dumps(
        {"users": [dataclasses.asdict(u) for u in users]}, indent=2).encode())
    if not (folder / f"{certs.CA}.pem").is_file() or not (folder / f"{certs.CA}.key").is_file():
        certs.make_ca(folder, settings.project)
    ca = _read_ca(folder)
    host = advertised_host(settings)
    for broker in brokers:
        wanted = ["localhost", "127.0.0.1", broker, host]
        if not _usable(folder, broker, ca, wanted):
            certs.make_leaf(folder, broker, wanted)
    if not _usable(folder, certs.CLIENT, ca, []):
        certs.make_leaf(folder, certs.CLIENT, [], client=True)
    client = folder / f"{certs.CLIENT}.pem"
    certs.write_private(folder / KEYSTORE, (folder / f"{certs.CLIENT}.key").read_bytes() + client.read_bytes())
    return LabSecurity(MODES[settings.security], folder, users)


def _read_ca(folder: Path) -> Any:
    """The CA's certificate, once it and its key are read and found to belong together. Never made
    anew when they cannot be: clients trust that CA (a copy of ca.pem, a truststore), and a new one
    would leave them all behind. ConfigError naming the file instead."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem, key = folder / f"{certs.CA}.pem", folder / f"{certs.CA}.key"
    try:
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
    except (OSError, ValueError) as exc:
        raise _broken_ca(pem, folder, _reason(exc)) from None
    try:
        private = serialization.load_pem_private_key(key.read_bytes(), None)
    except (OSError, ValueError, TypeError) as exc:
        raise _broken_ca(key, folder, _reason(exc)) from None
    if not certs.same_key(cert, private):
        raise _broken_ca(pem, folder, f"it is not the certificate of the key {key.name}")
    return cert


def _broken_ca(path: Path, folder: Path, why: str) -> ConfigError:
    return ConfigError(
        f"The lab's CA cannot be read from {path}: {why}.",
        f"Put back ca.pem and ca.key of {folder} if you have a copy; else remove the two, and the next "
        "`kafkalab up` makes a new CA, which your clients must then trust instead (`kafkalab connect` names it).",
    )


def _reason(exc: Exception) -> str:
    """An exception's first line, short: cryptography's parse errors run over several."""
    lines = str(exc).strip().splitlines()
    return lines[0].rstrip(".")[:160] if lines else type(exc).__name__


def _usable(folder: Path, name: str, ca: Any, names: Sequence[str]) -> bool:
    """NAME.pem and NAME.key can be read, belong together, were signed by the CA (a CA made anew
    orphans the old ones) and name every one of `names`. Otherwise they are stale, and made anew: a
    certificate cut short (by a crash, a full disk, an editor) as much as one for an old host."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate((folder / f"{name}.pem").read_bytes())
        key = serialization.load_pem_private_key((folder / f"{name}.key").read_bytes(), None)
        cert.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return certs.same_key(cert, key) and set(names) <= set(certs.names_in(cert))
