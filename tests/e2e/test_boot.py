"""The bed's Kafka images run what their public twins run: apache/kafka 4.x Java 21 with its CDS
archives in use (the JVM drops an archive silently when flags don't match: this proves it is mapped),
Confluent Platform 7.9 Java 17. On the real bed, through the compose files that ship."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable

import pytest

from kafkalab import Lab

pytestmark = pytest.mark.e2e


def java_version(image: str) -> str:
    done = subprocess.run(["docker", "run", "--rm", "--entrypoint", "java", image, "-version"],
                          capture_output=True, text=True, check=True)
    return done.stderr.splitlines()[0]


@pytest.mark.parametrize(("setting", "major"), [
    ("KAFKALAB_IMAGE_KAFKA", 21), ("KAFKALAB_IMAGE_KAFKA_ZK", 17), ("KAFKALAB_IMAGE_ZOOKEEPER", 17),
])
def test_each_image_runs_the_java_of_its_public_twin(setting: str, major: int) -> None:
    assert java_version(os.environ[setting]).startswith(f'openjdk version "{major}.'), setting


@pytest.mark.parametrize("mode", ["kraft", "cluster"])
def test_the_broker_runs_with_its_cds_archive_mapped(mode: str, lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(mode=mode)
    lab.up(ui=False)
    for broker in lab.compose.spec.brokers:
        container = f"{lab.settings.project}-{broker.name}-1"
        top = subprocess.run(["docker", "top", container, "-eo", "pid,comm"], capture_output=True, text=True,
                             check=True).stdout.split("\n")[1:]
        java = [line.split()[0] for line in top if line.split()[1:] == ["java"]]
        assert len(java) == 1, top
        with open(f"/proc/{java[0]}/maps") as maps:  # the broker's JVM, seen from the host
            mapped = {line.split()[-1] for line in maps if line.rstrip().endswith(".jsa")}
        assert "/opt/kafka/kafka.jsa" in mapped, (container, mapped)
    # The storage setup too, with the flags the lab gives (a JVM whose flags don't match an archive
    # runs without it, silently): the same environment, once more with -Xlog:cds to a file per JVM
    # (the image keeps the setup step's output to itself unless it fails), listed oldest first.
    container = f"{lab.settings.project}-kafka-1"
    env = json.loads(subprocess.run(["docker", "inspect", "-f", "{{json .Config.Env}}", container],
                                    capture_output=True, text=True, check=True).stdout)
    args = [a for e in env if not e.startswith(("PATH=", "KAFKA_OPTS=")) for a in ("-e", e)]
    image = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}}", container], capture_output=True,
                           text=True, check=True).stdout.strip()
    run = subprocess.run(
        ["docker", "run", "--rm", *args, "-e", "KAFKA_OPTS=-Xlog:cds:file=/tmp/cds-%p.log", "--entrypoint", "bash",
         image, "-c", "timeout 20 /usr/local/bin/kafka-start >/dev/null 2>&1;"
         " cat $(ls -tr /tmp/cds-*.log) | grep -E 'Opened archive /opt|Mapped dynamic region|setting'"],
        capture_output=True, text=True, check=False, timeout=60,
    )
    lines = run.stdout.splitlines()
    opened = [i for i, line in enumerate(lines) if "Opened archive /opt/kafka/" in line]
    assert [lines[i].rsplit("/", 1)[-1] for i in opened] == ["storage.jsa.", "kafka.jsa."], run.stdout
    for i in opened:
        assert "Mapped dynamic region #0" in lines[i + 1], run.stdout
