"""The first run on a real machine: images pulled through a real registry (Debian's docker-registry
on 127.0.0.1, started by tests/bed/registry) with progress, the readiness timeout counted after the
pull, typed registry errors, `kafkalab pull`, and an `up` that waits for the broker, not the UI."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import envfile
import pytest

from kafkalab import Lab

pytestmark = pytest.mark.e2e
KAFKALAB = [sys.executable, "-m", "kafkalab"]
BED = Path(__file__).resolve().parents[1] / "bed"


REGISTRY = envfile.read(BED / "registry.env")


def kafkalab(lab: Lab, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """kafkalab as a user runs it, with stderr not a terminal (the plain progress lines)."""
    s = lab.settings
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    images = {k: v for k, v in os.environ.items() if k.startswith("KAFKALAB_IMAGE_")}
    full = {**base, **images, "KAFKALAB_PULL": "missing", "KAFKALAB_PROJECT": s.project,
            "KAFKALAB_PORT": str(s.port), "KAFKALAB_UI_PORT": str(s.ui_port), **env}
    return subprocess.run([*KAFKALAB, *args], env=full, capture_output=True, text=True, check=False, timeout=300)


def forget_image(ref: str) -> None:
    """The image gone from the daemon, so that the next pull moves its layers (the registry's kafka
    image is one layer of its own: tests/bed/push-images)."""
    subprocess.run(["docker", "image", "rm", ref], capture_output=True, check=False)
    here = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False)
    assert here.returncode != 0, f"{ref} is still on this machine"


class SlowRegistry:
    """A TCP proxy in front of the registry that lets `rate` bytes a second through: a registry on
    a slow line, so that a pull takes as long as the test needs."""

    def __init__(self, target: str, rate: float) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.rate = rate
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.sent = 0
        self.began = time.monotonic()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, throttled: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if throttled:
                    with self.lock:  # one budget for every connection: the line's bandwidth
                        self.sent += len(chunk)
                        due = self.began + self.sent / self.rate - time.monotonic()
                    if due > 0:
                        time.sleep(due)  # the line's speed, not a wait for a condition
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                s.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def registry_kafka() -> Iterator[str]:
    """The registry's apache/kafka image, not on the daemon before nor after the test."""
    ref = REGISTRY["REGISTRY_IMAGE_KAFKA"]
    forget_image(ref)
    yield ref
    forget_image(ref)


def test_the_first_up_pulls_through_the_registry_and_the_timeout_starts_after_the_pull(
    lab_factory: Callable[..., Lab], registry_kafka: str,
) -> None:
    lab = lab_factory()
    timeout = 20
    path = REGISTRY["REGISTRY_IMAGE_KAFKA"].split("/", 1)[1]
    size = sum(layer["size"] for layer in manifest(REGISTRY["KAFKALAB_TEST_REGISTRY"], path)["layers"])
    slow = SlowRegistry(REGISTRY["KAFKALAB_TEST_REGISTRY"], rate=size / (timeout + 4))
    image = f"{slow.address}/{path}"
    forget_image(image)
    try:
        began = time.monotonic()
        up = kafkalab(lab, "up", "--no-ui", "--timeout", str(timeout), KAFKALAB_IMAGE_KAFKA=image)
        took = time.monotonic() - began
        assert up.returncode == 0, up.stderr
        pulled = re.search(rf"^Pulled {re.escape(image)} \((\d+) MB\) in (\d+) s$", up.stderr, re.MULTILINE)
        assert pulled, up.stderr
        assert int(pulled.group(1)) == round(size / 1e6)
        assert int(pulled.group(2)) >= timeout, "the pull must outlast the timeout, or this proves nothing"
        assert took > timeout and lab.status().healthy
        print(f"\nfirst up through the registry: pull {pulled.group(1)} MB in {pulled.group(2)} s, up {took:.1f} s")
    finally:
        slow.close()
        subprocess.run([*KAFKALAB, "-p", lab.settings.project, "down", "--volumes", "--yes"], capture_output=True,
                       check=False)
        forget_image(image)


def manifest(registry: str, path: str) -> dict[str, object]:
    import urllib.request

    name, _, tag = path.rpartition(":")
    request = urllib.request.Request(
        f"http://{registry}/v2/{name}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_kafkalab_pull_then_up_needs_no_pull(lab_factory: Callable[..., Lab], registry_kafka: str) -> None:
    lab = lab_factory()
    pulled = kafkalab(lab, "pull", "--no-ui", KAFKALAB_IMAGE_KAFKA=registry_kafka)
    assert pulled.returncode == 0, pulled.stderr
    assert re.fullmatch(rf"Pulled {re.escape(registry_kafka)} \(\d+ MB\) in \d+ s\n", pulled.stderr), pulled.stderr
    again = kafkalab(lab, "pull", "--no-ui", KAFKALAB_IMAGE_KAFKA=registry_kafka)
    assert (again.returncode, again.stderr) == (0, "Every image is here already.\n")
    began = time.monotonic()
    up = kafkalab(lab, "up", "--no-ui", KAFKALAB_IMAGE_KAFKA=registry_kafka)
    assert up.returncode == 0, up.stderr
    assert "Pulled" not in up.stderr
    print(f"\nup without a pull: {time.monotonic() - began:.1f} s")
    assert kafkalab(lab, "down", "--volumes", "--yes").returncode == 0


@pytest.mark.parametrize(("what", "image", "message", "hint"), [
    ("a tag that does not exist", "{registry}/apache/kafka:0.0.404",
     "Error: Image {image} was not found in the registry {registry}: manifest for {image} not found: "
     "manifest unknown: manifest unknown",
     "Hint: Check the image's name and tag: `kafkalab config` shows the images, set by KAFKALAB_IMAGE_*."),
    ("a registry that does not answer", "{closed}/apache/kafka:4.4.0",
     "Error: The registry {closed} did not answer when pulling {image}: Get \"http://{closed}/v2/\": "
     "dial tcp {closed}: connect: connection refused",
     "Hint: Check the network or the proxy; or use --pull never with images that are already on this machine."),
    ("a registry that wants a login", "{auth}/kafbat/kafka-ui:v1.5.0",
     "Error: The registry {auth} refused to send {image} without a login: Head "
     "\"http://{auth}/v2/kafbat/kafka-ui/manifests/v1.5.0\": no basic auth credentials",
     "Hint: Log in to it with `docker login {auth}`, then run this again."),
])
@pytest.mark.parametrize("command", ["pull", "up"])
def test_registry_errors_are_typed(
    command: str, what: str, image: str, message: str, hint: str, lab_factory: Callable[..., Lab],
    bed: SimpleNamespace,
) -> None:
    lab = lab_factory()
    names = {"registry": REGISTRY["KAFKALAB_TEST_REGISTRY"], "auth": REGISTRY["KAFKALAB_TEST_AUTH_REGISTRY"],
             "closed": f"127.0.0.1:{bed.free_port()}"}
    image = image.format(**names)
    forget_image(image)
    result = kafkalab(lab, command, "--no-ui", KAFKALAB_IMAGE_KAFKA=image)
    assert result.returncode == 8, result.stderr
    assert result.stderr.splitlines()[-2:] == [message.format(image=image, **names), hint.format(**names)]
    assert bed.docker_leftovers(lab.settings.project) == []


def test_toomanyrequests_is_docker_hubs_rate_limit() -> None:
    """Docker Hub's answer at its pull limit (it can't be caused here): its real text."""
    from kafkalab.docker.pull import pull_failed

    exc = pull_failed("apache/kafka:4.4.0", "Error response from daemon: toomanyrequests: You have reached your "
                      "pull rate limit. You may increase the limit by authenticating and upgrading: "
                      "https://www.docker.com/increase-rate-limit")
    assert exc.exit_code == 8
    assert exc.message.startswith("The registry docker.io refused apache/kafka:4.4.0: its pull rate limit is reached")
    assert exc.hint == "Log in (`docker login`) for a higher limit, or wait and run this again."


def test_up_returns_once_the_broker_answers_and_wait_ui_waits_for_the_ui(lab_factory: Callable[..., Lab]) -> None:
    """kafka-ui (a Spring Boot application; its stand-in likewise) answers seconds after the broker."""
    lab = lab_factory()
    up = kafkalab(lab, "up")
    assert up.returncode == 0, up.stderr
    assert f"UI: http://localhost:{lab.settings.ui_port} starting" in up.stdout
    checked = kafkalab(lab, "status", "--json")  # `kafkalab up && kafkalab status`: no fault while it starts
    status = json.loads(checked.stdout)
    assert status["broker"]["broker_count"] == 1
    assert status["ui"]["healthy"] is False  # status reports the UI as it is: starting
    assert (checked.returncode, status["state"], status["ui"]["state"]) == (0, "healthy", "starting")
    waited = kafkalab(lab, "up", "--wait-ui")
    assert waited.returncode == 0, waited.stderr
    assert f"UI: http://localhost:{lab.settings.ui_port} answers" in waited.stdout
    assert kafkalab(lab, "status").returncode == 0


def test_on_a_terminal_the_pull_shows_layers_bytes_and_percent(
    lab_factory: Callable[..., Lab], registry_kafka: str, on_a_terminal: Callable[..., tuple[int, bytes]],
) -> None:
    lab = lab_factory()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")},
           **{k: v for k, v in os.environ.items() if k.startswith("KAFKALAB_IMAGE_")},
           "KAFKALAB_IMAGE_KAFKA": registry_kafka, "KAFKALAB_PULL": "missing", "KAFKALAB_PROJECT": lab.settings.project,
           "TERM": "xterm-256color", "COLUMNS": "120"}
    code, seen = on_a_terminal(["pull", "--no-ui"], None, env)
    screen = seen.decode(errors="replace")
    assert code == 0, screen[-2000:]
    row = re.search(rf"{re.escape(registry_kafka)}\s+(\d+)/(\d+) layers\s+([\d,]+) MB / ([\d,]+) MB\s+(\d+) %", screen)
    assert row, screen[-2000:]
    assert int(row.group(2)) >= 1 and int(row.group(4).replace(",", "")) > 0
    assert re.search(r"Pulling images .*\d+\.\d s", screen), "the spinner's phase and time, above the rows"
