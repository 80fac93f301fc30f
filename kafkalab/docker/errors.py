"""Docker's failures as kafkalab's typed errors: Docker reports most of them only as text on
stderr, whether the docker CLI ran directly (kafkalab.docker.run) or through python-on-whales
(its DockerException); `translate` reads that text, once, here.

May import: kafkalab.errors, kafkalab.settings (the settings a message names).
"""

from __future__ import annotations

import re
from typing import Any

from kafkalab.errors import (
    ComposeError,
    ComposeV1Only,
    ConfigError,
    DaemonDown,
    DockerSocketDenied,
    ImageMissing,
    KafkalabError,
    PortInUse,
    SubnetUnavailable,
)
from kafkalab.settings import Settings

# What docker says, as seen from Engines 20.10 and 28 and Compose 2.40, for the failures that have a type.
# A taken port: 20.10 "Bind for 127.0.0.1:9094 failed: port is already allocated", 28 "failed to bind
# host port for 127.0.0.1:9094:172.18.0.2:9094/tcp: address already in use", and the userland proxy's.
_PORT_TAKEN = re.compile(
    r"Bind for [\d.]+:(\d+) failed|failed to bind host port for (?:[\d.]+|\[[\da-f:]*\]):(\d+)"
    r"|:(\d+): bind: address already in use"
)
# The socket exists but this user may not use it (not in the docker group): CLI 20.10 to 28 say
# "permission denied while trying to connect to the Docker daemon socket", later ones "... docker API".
_SOCKET_DENIED = re.compile(r"permission denied while trying to connect to the docker", re.IGNORECASE)
_IMAGE_MISSING = re.compile(r"No such image: (\S+)|pull access denied for ([^,\s]+)|image (\S+) not found")


def translate(command: list[str], returncode: int | None, stderr: str, settings: Settings) -> KafkalabError:
    """Docker reports most failures only as text on stderr: give each known one its type."""
    text = stderr.strip()
    last = text.splitlines()[-1] if text else f"exit code {returncode}"
    if _SOCKET_DENIED.search(text):
        return DockerSocketDenied("This user may not use the Docker daemon: " + last)
    if "Cannot connect to the Docker daemon" in text or "error during connect" in text:
        return DaemonDown("The Docker daemon is not answering: " + last)
    port = _PORT_TAKEN.search(text)
    if port or "port is already allocated" in text:
        number = next((g for g in port.groups() if g), "?") if port else "?"
        return PortInUse(f"Port {number} on 127.0.0.1 is already taken.")
    image = _IMAGE_MISSING.search(text)
    if image or ("pull" in text and settings.pull == "never"):
        name = next((g for g in image.groups() if g), "") if image else "of the stack"
        if settings.pull == "never":
            return ImageMissing(f"Image {name} is not on this machine, and --pull is never.")
        return ImageMissing(
            f"Image {name} could not be pulled: {last}",
            "Check the image name and tag (KAFKALAB_IMAGE_*), and `docker login` if the registry needs it.",
        )
    if "Pool overlaps with other one on this address space" in text:
        subnet = f"The subnet {settings.subnet}" if settings.subnet else "The subnet"
        return SubnetUnavailable(f"{subnet} of the lab's network {settings.lab_network} overlaps one that "
                                 f"Docker has already: {last}")
    if "could not find an available, non-overlapping IPv4 address pool" in text:
        return SubnetUnavailable(f"Docker has no free address range for the lab's network {settings.lab_network}, "
                                 f"as each of its default pools overlaps a network or a route here: {last}")
    if "has active endpoints" in text and "compose" in command:
        # `up` with another mode or subnet: Compose recreates the network, which a service of yours is on.
        return ConfigError(
            f"The lab's network {settings.lab_network} must be made anew for these settings, and other "
            f"containers still use it: {last}",
            f"Stop them, or `docker network disconnect {settings.lab_network} CONTAINER` (`docker network "
            f"inspect {settings.lab_network}` lists them), then run this again.",
        )
    if not_a_command(text) and "compose" in command:
        return ComposeV1Only("Docker Compose v2 was not found: `docker compose` is not a docker command here.")
    return ComposeError(
        f"`{' '.join(command[:4])}` failed: {last}", command=command, returncode=returncode, stderr=stderr,
    )


def not_a_command(stderr: str) -> bool:
    """The docker CLI has no `compose` plugin: "'compose' is not a docker command" (20.10),
    "unknown command: docker compose" (28)."""
    return "is not a docker command" in stderr or "unknown command" in stderr


def translate_whales(exc: Any, settings: Settings) -> KafkalabError:
    """A python_on_whales DockerException, translated as the docker CLI's own failures are."""
    return translate([str(a) for a in exc.docker_command], exc.return_code, exc.stderr or "", settings)
