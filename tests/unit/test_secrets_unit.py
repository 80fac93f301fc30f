"""The lab's secrets where other users of the machine, or a shell, meet them: a SCRAM password goes
to the broker's container over standard input, never on a command line; `kafkalab connect`'s env
lines survive a shell's eval; certificates are written whole, and one that no longer parses is
made anew (a broken CA is an error with a hint, not a traceback)."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from kafkalab.errors import ConfigError
from kafkalab.lab import secured
from kafkalab.lab.connection import BrokerAddress, Connection
from kafkalab.security import store
from kafkalab.security.listener import MODES
from kafkalab.security.users import User, check_password
from kafkalab.settings import resolve

# A `java` that writes down its argv, and the mode and text of the file --add-config-file names.
FAKE_JAVA = """\
#!/bin/sh
printf '%s\\n' "$@" > "$SEEN/argv"
while [ $# -gt 0 ]; do
  if [ "$1" = --add-config-file ]; then stat -c %a "$2" > "$SEEN/mode"; cat "$2" > "$SEEN/file"; fi
  shift
done
exit "${JAVA_EXIT:-0}"
"""


def _made_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, password: str,
               java_exit: int = 0) -> dict[str, Any]:
    """create_users with a fake `docker`, then the container's side of it run here (sh, a fake java)."""
    captured: dict[str, Any] = {}

    def fake_run_docker(args: list[str], env: dict[str, str], timeout: float,
                        input: str | None = None) -> subprocess.CompletedProcess[str]:
        captured.update(args=args, env=env, input=input)
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr("kafkalab.docker.run.run_docker", fake_run_docker)
    settings = resolve({"project": "fixsec", "mode": mode}, env={}, cwd=tmp_path)
    secured.create_users(settings, "c", [User("app", password)], time.monotonic() + 5, {"HOME": "/home/me"})
    args = captured["args"]
    assert args[:5] == ["exec", "-i", "c", "sh", "-c"]
    seen, bin_dir, temporary = tmp_path / "seen", tmp_path / "bin", tmp_path / "tmp"
    for folder in (seen, bin_dir, temporary):
        folder.mkdir()
    java = bin_dir / "java"
    java.write_text(FAKE_JAVA)
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SEEN": str(seen), "TMPDIR": str(temporary),
           "JAVA_EXIT": str(java_exit)}
    done = subprocess.run(["sh", *args[4:]], input=captured["input"], env=env, capture_output=True, text=True, check=False,
                          timeout=10)
    return {**captured, "exit": done.returncode, "argv": (seen / "argv").read_text(),
            "file": (seen / "file").read_text(), "mode": (seen / "mode").read_text().strip(),
            "left": sorted(p.name for p in temporary.iterdir())}


@pytest.mark.parametrize("mode, main", [("kraft", "org.apache.kafka.tools.ConfigCommand"),
                                        ("cluster", "org.apache.kafka.tools.ConfigCommand"),
                                        ("zookeeper", "kafka.admin.ConfigCommand")])
def test_a_scram_password_goes_over_standard_input_never_on_a_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, main: str,
) -> None:
    made = _made_user(tmp_path, monkeypatch, mode, "S3cret-pw")
    assert not any("S3cret-pw" in a for a in made["args"]), "docker's argv holds the password"
    assert not any("S3cret-pw" in v for v in made["env"].values()), "docker's environment holds the password"
    assert "S3cret-pw" not in made["argv"], f"java's argv holds the password: {made['argv']}"
    assert main in made["argv"].split() and "app" in made["argv"].split()
    assert made["file"] == "SCRAM-SHA-512=password=S3cret-pw\n"  # no brackets: only --add-config strips them
    assert made["mode"] == "600"
    assert (made["exit"], made["left"]) == (0, [])  # the file is gone once ConfigCommand ends


def test_a_failed_configcommand_fails_the_script_and_still_removes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = _made_user(tmp_path, monkeypatch, "kraft", "S3cret-pw", java_exit=3)
    assert (made["exit"], made["left"]) == (3, [])


@pytest.mark.parametrize("password, written", [
    ("S3cret-pw", "S3cret-pw"),
    ("pa$$word&;()#!:", "pa$$word&;()#!:"),  # nothing special after the key's separator
    ("a\\b", "a\\\\b"),  # a backslash escapes in a .properties file
    ("\u00e9t\u00e9", "\\u00e9t\\u00e9"),  # load(InputStream) reads ISO-8859-1: the rest as \uXXXX
    ("x\U0001f600", "x\\ud83d\\ude00"),  # beyond the BMP: two UTF-16 units, which load joins again
    ("tab\there", "tab\\u0009here"),
])
def test_the_credential_file_is_escaped_for_java_properties(password: str, written: str) -> None:
    line = secured.scram_credential(password)
    assert line == f"SCRAM-SHA-512=password={written}\n"
    assert line.isascii()


def test_properties_values_keep_a_leading_space() -> None:
    assert secured.properties_value(" x ") == "\\ x "  # load skips the blanks before a value


@pytest.mark.parametrize("line_end", ["\x85", "\u2028", "\u2029"])
def test_a_password_with_a_unicode_line_end_is_refused(line_end: str) -> None:
    with pytest.raises(ConfigError):  # ConfigCommand's password=(.*) stops at it
        check_password(f"a{line_end}b", "user app")


@pytest.mark.parametrize("password", ["Tr0ub4dor&3", "pa$$word", "s3cret;id", "pw$(echo_pwned)", "it's"])
def test_connect_env_lines_survive_a_shells_eval(tmp_path: Path, password: str) -> None:
    check_password(password, "user app")  # kafkalab accepts it
    security = store.LabSecurity(MODES["sasl-ssl"], tmp_path / "my files", (User("app", password),))
    found = Connection("lab", "kraft", "lab", (BrokerAddress("kafka", "localhost:9094", "kafka:9092"),),
                       (), security, "", secrets=True)
    script = 'set -a; eval "$1"; set +a; printf "%s|%s" "$KAFKA_SASL_PASSWORD" "$KAFKA_SSL_CA_LOCATION"'
    out = subprocess.run(["sh", "-c", script, "sh", found.env_text()], capture_output=True, text=True,
                         timeout=10, check=False)
    assert (out.stderr, out.stdout) == ("", f"{password}|{tmp_path}/my files/ca.pem")
    assert f"KAFKA_SASL_PASSWORD={password}\n" not in found.env_text()  # quoted


def test_connect_env_lines_need_no_quotes_for_the_generated_password(tmp_path: Path) -> None:
    from kafkalab.security.users import generated

    user = generated()
    security = store.LabSecurity(MODES["sasl-ssl"], tmp_path, (user,))
    found = Connection("lab", "kraft", "lab", (BrokerAddress("kafka", "localhost:9094", "kafka:9092"),),
                       (), security, "", secrets=True)
    assert f"KAFKA_SASL_PASSWORD={user.password}\n" in found.env_text()
    assert f"KAFKA_SSL_CA_LOCATION={tmp_path}/ca.pem\n" in found.env_text()
    assert "KAFKA_BOOTSTRAP_SERVERS=localhost:9094\n" in found.env_text()
    masked = Connection("lab", "kraft", "lab", found.brokers, (), security, "")
    assert "KAFKA_SASL_PASSWORD='********'\n" in masked.env_text()


# --- certificates: written whole, and one that cannot be read is made anew (the CA is not) ---------


def _secured_lab(state_dir: Path) -> tuple[Path, Any]:
    from kafkalab.lab import state

    settings = resolve({"project": "fixsec", "security": "mtls"}, env={}, cwd=state_dir)
    store.prepare(settings, ["kafka"], cwd=state_dir)
    return state.security_dir("fixsec"), settings


def _verify(folder: Path, name: str) -> None:
    """NAME.pem parses, is NAME.key's, and was signed by the folder's CA (raises otherwise)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from kafkalab.security import certs

    cert = x509.load_pem_x509_certificate((folder / f"{name}.pem").read_bytes())
    key = serialization.load_pem_private_key((folder / f"{name}.key").read_bytes(), None)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes()))
    assert certs.same_key(cert, key)


@pytest.mark.parametrize("damage", [
    ("kafka.pem", b"-----BEGIN CERTIFICATE-----\ntrunc"),  # cut short
    ("kafka.pem", b""),  # made, never written
    ("kafka.key", b"-----BEGIN PRIVATE KEY-----\nMIG"),
    ("client.pem", b"-----BEGIN CERTIFICATE-----\nMIIB"),
    ("client.key", b"garbage"),
], ids=["truncated-cert", "empty-cert", "truncated-key", "truncated-client-cert", "garbage-client-key"])
def test_a_certificate_that_cannot_be_read_is_made_anew_by_the_same_ca(
    state_dir: Path, damage: tuple[str, bytes],
) -> None:
    folder, settings = _secured_lab(state_dir)
    ca = (folder / "ca.pem").read_bytes(), (folder / "ca.key").read_bytes()
    name, data = damage
    (folder / name).write_bytes(data)
    store.prepare(settings, ["kafka"], cwd=state_dir)
    assert ((folder / "ca.pem").read_bytes(), (folder / "ca.key").read_bytes()) == ca  # clients keep trusting it
    _verify(folder, "kafka")
    _verify(folder, "client")
    keystore = (folder / "client-keystore.pem").read_bytes()
    assert keystore == (folder / "client.key").read_bytes() + (folder / "client.pem").read_bytes()


def test_a_certificate_that_is_not_its_keys_is_made_anew(state_dir: Path) -> None:
    folder, settings = _secured_lab(state_dir)
    (folder / "kafka.key").write_bytes((folder / "client.key").read_bytes())  # a crash between key and cert
    before = (folder / "kafka.pem").read_bytes()
    store.prepare(settings, ["kafka"], cwd=state_dir)
    assert (folder / "kafka.pem").read_bytes() != before
    _verify(folder, "kafka")


def test_sound_certificates_are_kept(state_dir: Path) -> None:
    folder, settings = _secured_lab(state_dir)
    kept = {p.name: p.read_bytes() for p in folder.glob("*.pem")}
    store.prepare(settings, ["kafka"], cwd=state_dir)
    assert {p.name: p.read_bytes() for p in folder.glob("*.pem")} == kept


@pytest.mark.parametrize("damage, named", [
    (("ca.pem", b"-----BEGIN CERTIFICATE-----\ntrunc"), "ca.pem"),
    (("ca.key", b""), "ca.key"),
    (("ca.key", None), "ca.pem"),  # another CA's key: ca.pem is not its certificate
], ids=["truncated-ca-cert", "empty-ca-key", "another-cas-key"])
def test_a_ca_that_cannot_be_read_is_an_error_naming_the_file_and_is_left_as_it_is(
    state_dir: Path, damage: tuple[str, bytes | None], named: str,
) -> None:
    from kafkalab.security import certs

    folder, settings = _secured_lab(state_dir)
    name, data = damage
    if data is None:
        other = state_dir / "other"
        other.mkdir()
        certs.make_ca(other, "other")
        data = (other / "ca.key").read_bytes()
    (folder / name).write_bytes(data)
    left = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ConfigError) as raised:
        store.prepare(settings, ["kafka"], cwd=state_dir)
    assert raised.value.message.startswith(f"The lab's CA cannot be read from {folder / named}: ")
    assert "\n" not in raised.value.message and "\n" not in (raised.value.hint or "")
    assert "a new CA" in (raised.value.hint or "")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == left  # nothing made anew, nothing lost


def test_certificates_are_written_whole_with_their_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kafkalab.security import certs

    old = os.umask(0o077)  # a strict umask: a certificate is 0644 all the same
    try:
        certs.make_ca(tmp_path, "fixsec")
        certs.make_leaf(tmp_path, "kafka", ["localhost"])
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"ca.pem": 0o644, "ca.key": 0o600, "kafka.pem": 0o644, "kafka.key": 0o600}
    before = (tmp_path / "kafka.pem").read_bytes()

    def no_room(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_room)
    with pytest.raises(OSError):
        certs.write_public(tmp_path / "kafka.pem", b"-----BEGIN CERTIFICATE-----\nnew")
    assert (tmp_path / "kafka.pem").read_bytes() == before  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.key", "ca.pem", "kafka.key", "kafka.pem"]


# --- doctor: the advertised host is resolved in doctor's pool, by its deadline ---------------------


def test_doctor_ends_by_its_deadline_with_a_resolver_that_never_answers(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket
    import threading

    from kafkalab.docker import run
    from kafkalab.docker.compose import Compose
    from kafkalab.lab import doctor
    from kafkalab.lab.lab import Lab
    from kafkalab.settings import Settings

    released = threading.Event()
    real = socket.getaddrinfo

    def silent_resolver(host: str, *args: Any, **kw: Any) -> Any:
        if host == "slow.example":
            released.wait(30)  # a resolver that does not answer (until the test ends)
        return real(host, *args, **kw)

    for name, value in {"client_version": "28.2.2", "endpoint": "", "daemon_version": ("28.2.2", "1.50"),
                        "compose_version": "2.36.0", "info": {}, "containers": []}.items():
        monkeypatch.setattr(Compose, name, lambda self, *a, value=value, **k: value)
    monkeypatch.setattr(Compose, "missing_images", lambda self, images: [])
    monkeypatch.setattr(run, "docker_path", lambda: "/usr/bin/docker")
    monkeypatch.setattr(socket, "getaddrinfo", silent_resolver)
    lab = Lab(Settings(project="fixsec-doctor", security="ssl", expose="10.231.0.1", advertise="slow.example"))
    began = time.monotonic()
    try:
        found = doctor.diagnose(lab, deadline=1.0)
        took = time.monotonic() - began
    finally:
        released.set()
    checks = {c.key: c for c in found.checks}
    assert took < 2.0, took
    assert checks["advertise"].ok is False
    assert checks["advertise"].detail == "slow.example did not resolve by doctor's deadline"
    assert checks["advertise"].fix == "Check this machine's DNS (/etc/resolv.conf), or advertise an address: --advertise."
    assert checks["lab"].detail == "the lab fixsec-doctor is not running"  # the checks after it ran meanwhile


def test_doctor_reports_the_advertised_hosts_check_as_it_answers(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kafkalab.lab import doctor
    from kafkalab.lab.lab import Lab
    from kafkalab.settings import Settings

    mine = "10.231.0.1"  # one of this machine's addresses, as far as the check knows
    monkeypatch.setattr(secured, "is_local_address", lambda address: address == mine)
    lab = Lab(Settings(project="fixsec-doctor", security="ssl", expose=mine))
    check = doctor._Doctor(lab, time.monotonic() + 5)
    with doctor.ThreadPoolExecutor(max_workers=1) as pool:
        check.advertise(pool.submit(secured.check_advertised, lab.settings), lab.settings)
        answered = check.checks["advertise"]
        check.advertise(pool.submit(lambda: 1 / 0), lab.settings)  # type: ignore[arg-type]
    assert answered.ok is True and answered.detail.startswith(f"{mine} ({mine}) is this machine's")
    assert check.checks["advertise"].detail == f"{mine} could not be checked: division by zero"
