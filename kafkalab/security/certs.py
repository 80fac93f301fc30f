"""The lab's certificates, made with the `cryptography` package: a CA of its own, a server
certificate per broker (SANs: localhost, 127.0.0.1, the broker's name on the lab's network and the
advertised address), and for mtls a client certificate. PEM files; private keys unencrypted PKCS#8
(what Kafka's PEM stores, librdkafka, Node.js and Java 17+ read), with mode 0600.

EC P-256 keys: made in milliseconds, where RSA 2048 takes a tenth of a second each.

May import: nothing of kafkalab (the caller gives the folder); cryptography inside functions.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CA = "ca"
CLIENT = "client"
VALID_DAYS = 825  # what Apple's and browsers' rules allow a server certificate; the lab's CA lasts 10 years
CA_DAYS = 3650


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _name(common: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kafkalab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner reads (0600), whole: made with that mode, never widened."""
    _write(path, data, 0o600)


def write_public(path: Path, data: bytes) -> None:
    """Write a certificate (0644), whole."""
    _write(path, data, 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    """A temporary file of the same folder (made 0600), given its mode and data, then renamed over
    path: a reader, or the next run after a crash, finds the old file or the new one, never part of one."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return data


def _pem_cert(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = cert.public_bytes(serialization.Encoding.PEM)
    return data


def make_ca(folder: Path, project: str) -> None:
    """The lab's CA: ca.pem (its certificate, what clients trust) and ca.key (0600)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    name = _name(f"kafkalab CA of the lab {project}")
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(folder / f"{CA}.key", _pem_key(key))
    write_public(folder / f"{CA}.pem", _pem_cert(cert))


def sans(names: Iterable[str]) -> list[Any]:
    """Subject alternative names: IP addresses as such (clients check an address against IP SANs
    only), every other name as a DNS name; each once, in order."""
    from cryptography import x509

    found: list[Any] = []
    for name in dict.fromkeys(n for n in names if n):
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            found.append(x509.DNSName(name))
    return found


def make_leaf(folder: Path, name: str, names: Iterable[str], *, client: bool = False) -> None:
    """NAME.pem (the certificate) and NAME.key (0600), signed by the folder's CA: a server certificate
    for `names`, or a client certificate (CN = name)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key = serialization.load_pem_private_key((folder / f"{CA}.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((folder / f"{CA}.pem").read_bytes())
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                              else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
                       critical=False)
    )
    if not client:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans(names)), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    write_private(folder / f"{name}.key", _pem_key(key))
    write_public(folder / f"{name}.pem", _pem_cert(cert))


def names_of(path: Path) -> list[str]:
    """The SANs of the certificate at path, as text (for tests and for doctor)."""
    from cryptography import x509

    return names_in(x509.load_pem_x509_certificate(path.read_bytes()))


def names_in(cert: Any) -> list[str]:
    """The SANs of a certificate, as text."""
    from cryptography import x509

    try:
        found = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n.value) for n in found]


def same_key(cert: Any, key: Any) -> bool:
    """The certificate is the private key's (a crash between writing NAME.key and NAME.pem parts them)."""
    from cryptography.hazmat.primitives import serialization

    der, info = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(cert.public_key().public_bytes(der, info) == key.public_key().public_bytes(der, info))
