"""Output prints names as they are (issue 17, section 4): whatever comes from Kafka or Docker holds
Rich's markup characters at times ("orders-[eu]", "app[/x]", "[bold]", ":thumbs_up:"), and none of
it is taken as markup, in tables, lines and errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kafkalab import errors
from kafkalab.cli import render
from kafkalab.docker.models import Container
from kafkalab.kafka import groups
from kafkalab.lab.status import LabStatus, UiStatus

ODD = ["orders-[eu]", "app[/x]", "[bold]loud[/bold]", "[/]", "x[red]", ":thumbs_up:", "back\\[slash]"]


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "200")
    render.reset()
    yield
    render.reset()


def test_group_names_in_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    render.groups([groups.GroupSummary(name, "empty", "classic") for name in ODD])
    shown = capsys.readouterr().out
    for name in ODD:
        assert f"│ {name} " in shown, name


def test_group_description_members_and_partitions(capsys: pytest.CaptureFixture[str]) -> None:
    desc = groups.GroupDescription(
        "app[/x]", "stable", "classic", 1, "range",
        (groups.GroupMember("[b]member-1", "client[/]", "/[127.0.0.1]", (("orders", 0),)),),
        (groups.GroupPartition("orders", 0, 1, 2, 1, "[b]member-1"),),
    )
    render.group_description(desc)
    shown = capsys.readouterr().out
    assert shown.startswith("Group app[/x]: stable (classic), 1 member, lag 1\n")
    for text in ("[b]member-1", "client[/]", "/[127.0.0.1]"):
        assert text in shown


def test_topics_configs_and_contexts(capsys: pytest.CaptureFixture[str]) -> None:
    from kafkalab.kafka.contexts import Context

    render.table(None, ("config", "value"), [("cleanup.policy", "[/x]"), ("x", ":thumbs_up:")])
    render.contexts([Context("[eu]", "h:1", {"client.id": "[bold]me"}, None)])
    shown = capsys.readouterr().out
    for text in ("│ [/x] ", "│ :thumbs_up: ", "│ [eu] ", "│ [bold]me "):
        assert text in shown, text


def test_errors_with_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    render.error(errors.BrokerUnreachable("Group app[/x] is [bold]gone[/bold] :fire:", "Run [red]it[/] again."))
    assert capsys.readouterr().err == (
        "Error: Group app[/x] is [bold]gone[/bold] :fire:\nHint: Run [red]it[/] again.\n"
    )


def test_notes_with_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    render.note("Left alone: web[/x], of a compose project :smile: that is not kafkalab's.")
    assert capsys.readouterr().err == "Left alone: web[/x], of a compose project :smile: that is not kafkalab's.\n"


def test_status_with_docker_and_kafka_text(capsys: pytest.CaptureFixture[str]) -> None:
    status = LabStatus(
        "orders", "kraft", "degraded",
        (Container("kafka", "orders-kafka-1", "running", "Up [/x] 3 s", ("127.0.0.1:9094->9094/tcp",), "k:1"),),
        None, "KafkaError[/x]: [bold]refused[/bold]", UiStatus("http://localhost:8080", False, "HTTP 500 [/]"),
        ("kafka-ui [/x] does not answer",), "Look at [red]the logs[/red].",
    )
    render.lab_status(status)
    shown = capsys.readouterr().out
    for text in ("Up [/x] 3 s", "Broker: KafkaError[/x]: [bold]refused[/bold]\n", "HTTP 500 [/]\n",
                 "✘ kafka-ui [/x] does not answer\n", "Hint: Look at [red]the logs[/red].\n"):
        assert text in shown, text
