"""Which volumes `down` removes besides the containers: the anonymous ones, told apart from the lab's
named volumes by the name Docker gives them, without Docker's daemon (its answers are given here)."""

from __future__ import annotations

from typing import Any

import pytest

from kafkalab.docker.compose import Compose
from kafkalab.docker.models import Container
from kafkalab.errors import ComposeError
from kafkalab.settings import Settings

SECRETS, CONFIG = "5f469cd5175570daf0f5057bd67574367af92859fac6f9cd55dc0f86170657db", "eb8e" + "0" * 60


def container(cid: str) -> Container:
    return Container(service="kafka", name=f"lab-{cid}", state="running", status="Up", ports=(), image="i", id=cid)


def test_anonymous_volumes_are_the_mounts_docker_named_by_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    compose, asked = Compose(Settings()), []

    def inspect(*args: str, **_: Any) -> str:
        asked.append(args)
        # Each container's volume mounts: the lab's named volume, and those Docker made for the image.
        return f"lab_kafka-data {CONFIG} {SECRETS} \nlab_kafka-2-data {SECRETS} \n"

    monkeypatch.setattr(compose, "_docker", inspect)
    assert compose.anonymous_volumes([container("c1"), container("c2")]) == (SECRETS, CONFIG)
    assert asked[0][:3] == ("inspect", "--type", "container") and asked[0][-2:] == ("c1", "c2")
    assert compose.anonymous_volumes([]) == ()
    assert len(asked) == 1  # no containers, no docker call


def failing(stderr: str) -> Any:
    def docker(*args: str, **_: Any) -> str:
        raise ComposeError("`docker volume rm` failed", command=["docker", *args], returncode=1, stderr=stderr)
    return docker


def test_an_anonymous_volume_that_another_container_uses_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = Compose(Settings())
    in_use = f"Error response from daemon: remove {SECRETS}: volume is in use - [0123abcd]\n"
    monkeypatch.setattr(compose, "_docker", failing(in_use))
    compose.remove_anonymous_volumes((SECRETS, CONFIG))  # no error: the other one was removed

    monkeypatch.setattr(compose, "_docker", failing(in_use + "Error response from daemon: permission denied\n"))
    with pytest.raises(ComposeError):
        compose.remove_anonymous_volumes((SECRETS, CONFIG))
