"""The secured lab's pure parts (kafkalab.security, kafkalab.lab.secured): certificates, users, the
listener's variables, the client settings of each mode, and what `up` refuses before anything starts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kafkalab.errors import ConfigError
from kafkalab.lab import secured, state
from kafkalab.security import certs, store
from kafkalab.security.listener import SECURITY_MODES, listener_env
from kafkalab.security.users import declared
from kafkalab.settings import Settings, resolve


def test_the_ca_signs_broker_certificates_with_the_names_clients_use(tmp_path: Path) -> None:
    from cryptography import x509

    certs.make_ca(tmp_path, "orders")
    certs.make_leaf(tmp_path, "kafka-2", ["localhost", "127.0.0.1", "kafka-2", "10.231.0.1", "lab.example"])
    cert = x509.load_pem_x509_certificate((tmp_path / "kafka-2.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n) for n in san.get_values_for_type(x509.DNSName)] == ["localhost", "kafka-2", "lab.example"]
    assert [str(n) for n in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.231.0.1"]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for key in ("ca.key", "kafka-2.key"):
        assert (tmp_path / key).stat().st_mode & 0o777 == 0o600
        assert (tmp_path / key).read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Kafka reads it


def test_declared_users_read_their_password_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "kafkalab.toml").write_text('[users.orders-svc]\npassword = "${ORDERS_PW}"\n'
                                            '[users.billing]\npassword = "b-secret"\n')
    found = declared(tmp_path, env={"ORDERS_PW": "o-secret"})
    assert [(u.name, u.password) for u in found] == [("orders-svc", "o-secret"), ("billing", "b-secret")]
    with pytest.raises(ConfigError, match="ORDERS_PW, which is not set"):
        declared(tmp_path, env={})


@pytest.mark.parametrize("body, why", [
    ('[users.a]\npassword = "has,comma"\n', "cannot carry"),
    ('[users.a]\npassword = ""\n', "empty"),
    ('[users.a]\npass = "x"\n', "one key, password"),
    ('[users."a b"]\npassword = "x"\n', "the name"),
])
def test_a_user_the_brokers_cannot_take_is_refused(tmp_path: Path, body: str, why: str) -> None:
    (tmp_path / "kafkalab.toml").write_text(body)
    with pytest.raises(ConfigError, match=why):
        declared(tmp_path, env={})


def test_users_is_a_table_of_the_config_file_not_a_setting(tmp_path: Path) -> None:
    (tmp_path / "kafkalab.toml").write_text('security = "sasl-scram"\n[users.a]\npassword = "x"\n')
    assert resolve(cwd=tmp_path, env={}).security == "sasl-scram"


def test_security_and_expose_are_checked_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not one of plaintext, sasl-plain"):
        resolve({"security": "tls"}, env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="is not an IP address"):
        secured.check_exposure(resolve({"expose": "my-laptop"}, env={}, cwd=tmp_path))
    with pytest.raises(ConfigError, match="is not a host name or an IP address"):
        secured.check_exposure(resolve({"advertise": "a b"}, env={}, cwd=tmp_path))


def test_prepare_keeps_the_ca_and_the_generated_user_and_remakes_certificates_for_a_new_host(
    state_dir: Path, tmp_path: Path,
) -> None:
    s = Settings(project="orders", security="sasl-ssl")
    first = store.prepare(s, ["kafka"], cwd=tmp_path)
    assert first is not None and first.user is not None and first.user.name == "kafkalab"
    assert len(first.user.password) >= 32
    folder = state.security_dir("orders")
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "users.json").stat().st_mode & 0o777 == 0o600
    ca = (folder / "ca.pem").read_bytes()
    again = store.prepare(Settings(project="orders", security="sasl-ssl", expose="10.231.0.1", advertise="lab.example"),
                          ["kafka"], cwd=tmp_path)
    assert again is not None and again.users == first.users
    assert (folder / "ca.pem").read_bytes() == ca
    assert "lab.example" in certs.names_of(folder / "kafka.pem")
    state.forget("orders")  # what `down --volumes` does
    assert not folder.exists()


@pytest.mark.parametrize("security", SECURITY_MODES)
def test_each_modes_client_settings(state_dir: Path, tmp_path: Path, security: str) -> None:
    s = Settings(project="p", security=security)  # type: ignore[arg-type]
    found = store.prepare(s, ["kafka"], cwd=tmp_path)
    if security == "plaintext":
        assert found is None and secured.client_settings(s) == {}
        return
    assert found is not None
    conf = secured.client_settings(s)
    protocol = {"sasl-plain": "SASL_PLAINTEXT", "sasl-scram": "SASL_PLAINTEXT", "ssl": "SSL", "sasl-ssl": "SASL_SSL",
                "mtls": "SSL"}[security]
    assert conf["security.protocol"] == protocol
    assert conf.get("sasl.mechanism") == {"sasl-plain": "PLAIN", "sasl-scram": "SCRAM-SHA-512",
                                          "sasl-ssl": "SCRAM-SHA-512"}.get(security)
    assert ("ssl.ca.location" in conf) == (security in ("ssl", "sasl-ssl", "mtls"))
    assert ("ssl.certificate.location" in conf) == (security == "mtls")
    masked = found.client_settings(mask="****")
    if "sasl.password" in conf:
        assert masked["sasl.password"] == "****" and conf["sasl.password"] != "****"
        assert found.env()["KAFKA_SASL_PASSWORD"] == conf["sasl.password"]
    java = found.java_properties("localhost:9094", mask="****")
    assert f"security.protocol={protocol}\n" in java
    assert ("ssl.truststore.type=PEM" in java) == ("ssl.ca.location" in conf)
    if "sasl.password" in conf:
        assert conf["sasl.password"] not in java and 'password="****"' in java


def test_the_listener_is_published_where_expose_says(tmp_path: Path) -> None:
    def binds(**changes: object) -> tuple[str, str, str, str]:
        env = listener_env(Settings(**changes))  # type: ignore[arg-type]
        return (env["KAFKALAB_LOCAL_BIND"], env["KAFKALAB_EXPOSE_BIND"], env["KAFKALAB_UI_LOCAL_BIND"],
                env["KAFKALAB_UI_EXPOSE_BIND"])

    assert binds() == ("127.0.0.1",) * 4
    assert binds(expose="10.231.0.1") == ("127.0.0.1", "10.231.0.1", "127.0.0.1", "127.0.0.1")
    assert binds(expose="10.231.0.1", expose_ui=True) == ("127.0.0.1", "10.231.0.1", "127.0.0.1", "10.231.0.1")
    assert binds(expose="0.0.0.0", advertise="lab") == ("0.0.0.0", "0.0.0.0", "127.0.0.1", "127.0.0.1")
    assert listener_env(Settings(expose="10.231.0.1"))["KAFKALAB_ADVERTISE_HOST"] == "10.231.0.1"
    assert listener_env(Settings(expose="0.0.0.0", advertise="lab"))["KAFKALAB_ADVERTISE_HOST"] == "lab"
    assert listener_env(Settings())["KAFKALAB_ADVERTISE_HOST"] == "localhost"


# An address of this machine's that is not its loopback: the test bed's own vary, so one is made so here.
MINE = "10.231.0.1"


@pytest.fixture
def mine(monkeypatch: pytest.MonkeyPatch) -> None:
    real = secured.is_local_address
    monkeypatch.setattr(secured, "is_local_address", lambda address: address == MINE or real(address))


@pytest.mark.parametrize("changes, why", [
    ({"expose": MINE}, "--insecure"),
    ({"expose": "127.0.0.1", "security": "ssl"}, "loopback address: other machines cannot reach it"),
    ({"expose": "127.0.0.2", "insecure": True}, "0.0.0.0 with --advertise HOST"),
    ({"expose": "::1", "security": "ssl"}, "loopback"),
    ({"expose": "0.0.0.0", "security": "sasl-ssl"}, "--advertise HOST"),
    ({"expose": "10.231.255.254", "security": "sasl-ssl"}, "This machine has no address 10.231.255.254"),
    ({"advertise": "lab.example"}, "--expose ADDRESS too"),
])
@pytest.mark.usefixtures("mine")
def test_exposure_is_refused_before_anything_starts(changes: dict[str, str], why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        secured.check_exposure(Settings(**changes))  # type: ignore[arg-type]
    assert why in f"{caught.value.message} {caught.value.hint}"
    assert caught.value.exit_code == 3
    secured.check_exposure(Settings(expose=MINE, insecure=True))
    secured.check_exposure(Settings(expose=MINE, security="mtls"))


def test_a_running_labs_security_settings_must_be_its_records(state_dir: Path) -> None:
    state.write("old", {"KAFKALAB_PORT": "9094"})  # a lab of an earlier version: plaintext
    secured.check_same(Settings(project="old"), running=True)
    with pytest.raises(ConfigError, match="already running with security plaintext, not sasl-scram"):
        secured.check_same(Settings(project="old", security="sasl-scram"), running=True)
    secured.check_same(Settings(project="old", security="sasl-scram"), running=False)  # stopped: it may change
    state.write("new", {"KAFKALAB_SECURITY": "ssl", "KAFKALAB_EXPOSE": "10.231.0.1"})
    found = resolve({"project": "new"}, env={}, cwd=state_dir).with_record()
    assert (found.security, found.expose) == ("ssl", "10.231.0.1")
    with pytest.raises(ConfigError, match=r"already running with expose 10\.231\.0\.1, not"):
        secured.check_same(Settings(project="new", security="ssl"), running=True)


@pytest.mark.usefixtures("mine")
def test_the_advertised_address_check() -> None:
    assert secured.check_advertised(Settings())[:2] == (True, "localhost: the lab is published on 127.0.0.1 only "
                                                               "(other machines reach it with --expose)")
    ok, detail, fix = secured.check_advertised(Settings(expose=MINE, security="ssl"))
    assert ok is True and detail == f"{MINE} ({MINE}) is this machine's; the brokers are published on {MINE}"
    # A lab of an earlier version, exposed on 127.0.0.1, or one advertising localhost: no other machine reaches it.
    for changes in ({"expose": "127.0.0.1"}, {"expose": "0.0.0.0", "advertise": "localhost"}):
        ok, detail, fix = secured.check_advertised(Settings(security="ssl", **changes))  # type: ignore[arg-type]
        assert ok is False and "resolves only to loopback addresses (" in detail and "--advertise" in (fix or "")
    ok, detail, fix = secured.check_advertised(Settings(expose="0.0.0.0", advertise="192.0.2.254", security="ssl"))
    assert ok is False and "not this machine's" in detail and fix
    ok, detail, _ = secured.check_advertised(Settings(expose="0.0.0.0", advertise="no-such-host.invalid",
                                                      security="ssl"))
    assert ok is False and "does not resolve" in detail


@pytest.mark.parametrize("mode, extra", [("kraft", "security.yaml"), ("zookeeper", "security.yaml"),
                                          ("cluster", "security-cluster.yaml")])
def test_the_security_file_secures_each_broker_of_the_mode(state_dir: Path, tmp_path: Path, mode: str,
                                                           extra: str) -> None:
    from kafkalab.docker.compose import Compose

    s = Settings(mode=mode, project="sec", security="mtls")  # type: ignore[arg-type]
    store.prepare(s, [b.name for b in s.spec.brokers], cwd=tmp_path)
    compose = Compose(s)
    assert [Path(f).name for f in compose.files] == [f"{mode}.yaml", extra]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    done = subprocess.run(["docker", "compose", "-p", "sec", *[a for f in compose.files for a in ("-f", str(f))],
                           "config", "--format", "json"], env={**clean, **compose.env()}, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for broker in s.spec.brokers:
        env = found["services"][broker.name]["environment"]
        assert "EXTERNAL:SSL" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
        assert env["KAFKA_LISTENER_NAME_EXTERNAL_SSL_CLIENT_AUTH"] == "required"
        assert "PLAINTEXT://:9092" in env["KAFKA_LISTENERS"]  # the lab's network keeps its listener
        targets = {x["target"] for x in found["services"][broker.name]["secrets"]}
        assert targets == {"/etc/kafka/secrets/kafkalab-keystore.pem", "/etc/kafka/secrets/kafkalab-ca.pem"}
    assert "BEGIN" not in "".join(f"{k}={v}" for k, v in s.compose_env().items())  # no secret in the record
