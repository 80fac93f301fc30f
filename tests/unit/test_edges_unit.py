"""Edges without a broker (issue 17, sections 7 and 8): client callbacks, timeouts of 0, prompts
without a terminal, Kafka's schemes, a mode's replication, offline partitions as shown, config hints."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kafkalab.cli import render
from kafkalab.cli.main import cli
from kafkalab.errors import ConfigError
from kafkalab.kafka import bootstrap, clients, groups, topics
from kafkalab.kafka.contexts import resolve_target
from kafkalab.lab.lab import Lab
from kafkalab.lab.modes import MODES
from kafkalab.settings import resolve


@pytest.fixture(autouse=True)
def _no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No settings from the environment or a config file: only what a test gives."""
    for name in ("KAFKALAB_BOOTSTRAP_SERVER", "KAFKALAB_PORT", "KAFKALAB_TIMEOUT", "KAFKALAB_MODE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no lab's record of this machine
    monkeypatch.chdir(tmp_path)


def kl(*args: str, env: dict[str, str] | None = None) -> Result:
    render.reset()
    return CliRunner(env=env).invoke(cli, list(args), prog_name="kafkalab")


# --- confluent-kafka's own settings pass as they are --------------------------------------------

def test_callbacks_and_the_logger_keep_their_names() -> None:
    def on_delivery(_err: Any, _msg: Any) -> None: ...
    logger = logging.getLogger("mine")
    conf = clients.client_config(
        "h:1", on_delivery=on_delivery, error_cb=print, stats_cb=print, oauth_cb=print, throttle_cb=print,
        on_commit=print, logger=logger, linger_ms=5,
    )
    assert conf["on_delivery"] is on_delivery
    assert (conf["error_cb"], conf["stats_cb"], conf["oauth_cb"], conf["throttle_cb"], conf["on_commit"]) == (
        print, print, print, print, print)
    assert conf["logger"] is logger  # the caller's, over kafkalab's quiet one
    assert conf["linger.ms"] == 5  # librdkafka's names still take _ for .
    assert not any(k.startswith(("on.", "error.cb", "stats.cb")) for k in conf)


def test_a_producer_takes_a_delivery_callback_and_a_consumer_a_commit_callback() -> None:
    # confluent-kafka refuses unknown properties when the client is made: no broker is needed.
    clients.producer("127.0.0.1:1", on_delivery=print, error_cb=print, stats_cb=print, throttle_cb=print,
                    logger=logging.getLogger("mine"))
    clients.consumer("127.0.0.1:1", "g", on_commit=print, error_cb=print).close()


# --- a timeout of 0 --------------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", [0, 0.0, -5])
def test_lab_up_and_wait_ready_refuse_a_timeout_of_0_before_anything_starts(
    timeout: float, monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab = Lab(resolve({"project": "kltest-edges"}))

    def no_docker(*_args: Any) -> Any:
        raise AssertionError("nothing may start with a bad timeout")

    monkeypatch.setattr(lab.compose, "preflight", no_docker)
    monkeypatch.setattr(lab, "_wait", no_docker)
    for call in (lambda: lab.up(timeout=timeout), lambda: lab.wait_ready(timeout=timeout)):
        with pytest.raises(ConfigError) as caught:
            call()
        assert caught.value.message == f"Bad value for timeout (argument): {timeout!r} is not above 0."
        assert caught.value.hint == "Give the seconds to wait for the lab, above 0; wait=False does not wait at all."
        assert caught.value.exit_code == 3


@pytest.mark.parametrize(("args", "env", "shown"), [
    (["up", "--timeout", "0"], {}, "(flag): 0.0"),
    (["up"], {"KAFKALAB_TIMEOUT": "0"}, "(env KAFKALAB_TIMEOUT): '0'"),
])
def test_the_timeout_setting_of_0_is_refused(args: list[str], env: dict[str, str], shown: str) -> None:
    result = kl("-p", "kltest-edges", *args, env=env)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        f"Error: Bad value for timeout {shown} is not above 0.\n"
        f"Hint: {ConfigError.hint}\n"
    )


# --- a config error's hint -------------------------------------------------------------------------

def test_a_config_errors_hint_does_not_send_to_kafkalab_config_which_fails_the_same_way(tmp_path: Path) -> None:
    (tmp_path / "kafkalab.toml").write_text("port = 70000\n")
    for args in (["status"], ["config"]):
        result = kl(*args)
        assert result.exit_code == 3
        assert result.stderr == (
            f"Error: Bad value for port ({tmp_path / 'kafkalab.toml'}): 70000 is not between 1 and 65535.\n"
            "Hint: Fix the value where the message says it is set: the flag, the KAFKALAB_* variable or the "
            "config file.\n"
        )
        assert "kafkalab config" not in result.stderr


# --- destructive commands without a terminal ----------------------------------------------------------

@pytest.mark.parametrize(("args", "kept"), [
    (["down", "--volumes"], "Nothing was deleted."),
    (["topic", "delete", "orders", "-b", "127.0.0.1:1"], "Topic orders was not deleted."),
    (["group", "delete", "billing", "-b", "127.0.0.1:1"], "Group billing was not deleted."),
])
def test_without_a_terminal_deleting_needs_yes(args: list[str], kept: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_work(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("nothing may be deleted without --yes")

    monkeypatch.setattr(Lab, "down", no_work)
    monkeypatch.setattr(topics, "delete_topic", no_work)
    monkeypatch.setattr(groups, "delete_group", no_work)
    result = kl("-p", "kltest-edges", *args)  # CliRunner's stdin is no terminal, as in CI or a pipe
    assert (result.exit_code, result.stdout) == (15, "")
    assert result.stderr == (
        f"Error: {kept} There is no terminal to ask for confirmation.\n"
        "Hint: Pass --yes to confirm without a prompt.\n"
    )


# --- the schemes of -b --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["ftp://localhost:29097", "http://a:1", "PLAIN://a:1", "a b://h:1", "a:1,ssh://b:2"])
def test_only_kafkas_security_protocols_are_schemes(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        bootstrap.parse_bootstrap(text)
    scheme = text.rpartition("://")[0].rpartition(",")[2]
    assert caught.value.message.startswith(f"Bad --bootstrap-server {text!r}: scheme {scheme}:// ")
    assert caught.value.message.endswith(
        " is not one of Kafka's security protocols (plaintext, ssl, sasl_plaintext, sasl_ssl).")


@pytest.mark.parametrize("scheme", ["plaintext", "PLAINTEXT", "Ssl", "sasl_plaintext", "SASL_SSL"])
def test_kafkas_security_protocols_in_any_case_are_taken(scheme: str) -> None:
    assert bootstrap.parse_bootstrap(f"{scheme}://h:1") == f"{scheme}://h:1"


def test_an_unknown_scheme_is_exit_3_at_once() -> None:
    result = kl("topic", "list", "-b", "ftp://localhost:29097")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr.startswith(
        "Error: Bad --bootstrap-server 'ftp://localhost:29097': scheme ftp:// is not one of Kafka's security "
        "protocols (plaintext, ssl, sasl_plaintext, sasl_ssl).\nHint: ")


# --- a new topic's replication ------------------------------------------------------------------------

def test_the_replication_of_each_mode() -> None:
    assert {name: spec.replication for name, spec in MODES.items()} == {"kraft": 1, "zookeeper": 1, "cluster": 3}


def test_a_new_topics_replication_is_the_labs_and_elsewhere_the_brokers(tmp_path: Path) -> None:
    assert resolve_target({}, None, {}, cwd=tmp_path, env={}).replication == 1
    assert resolve_target({"mode": "cluster"}, None, {}, cwd=tmp_path, env={}).replication == 3
    assert resolve_target({"mode": "cluster"}, "h:1", {}, cwd=tmp_path, env={}).replication == -1


# --- offline partitions, as shown ----------------------------------------------------------------------

OFFLINE = topics.TopicDescription("t", (
    topics.PartitionInfo(0, 1, (1,), (1,), 0, 2),
    topics.PartitionInfo(1, -1, (3,), (3,), None, None),
), ())


def test_an_offline_partition_in_json() -> None:
    assert OFFLINE.to_dict()["partitions"] == [
        {"partition": 0, "leader": 1, "offline": False, "replicas": [1], "isr": [1], "start_offset": 0, "end_offset": 2},
        {"partition": 1, "leader": None, "offline": True, "replicas": [3], "isr": [3], "start_offset": None,
         "end_offset": None},
    ]
    json.dumps(OFFLINE.to_dict())


def test_an_offline_partition_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    render.reset()
    render.topic_description(OFFLINE)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Topic t: 2 partitions, 2 messages (offline, not counted: partition 1)"
    assert [cell.strip() for cell in lines[5].strip("│").split("│")] == ["1", "offline", "3", "3", "-", "-"]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_modes_replication_is_its_brokers_default_replication_factor(mode: str) -> None:
    """Topics that `topic create` makes are replicated as those the brokers create by themselves."""
    import re

    from kafkalab.docker.compose import compose_dir

    text = (compose_dir() / MODES[mode].file).read_text()
    set_to = {int(v) for v in re.findall(r"KAFKA_DEFAULT_REPLICATION_FACTOR:\s*\"?(\d+)", text)}
    assert (set_to or {1}) == {MODES[mode].replication}  # unset: Kafka's default, 1
