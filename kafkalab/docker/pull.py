"""Pulling the lab's images: progress from Compose's JSON events, and a registry's failures as
typed errors. Pure logic; compose.py runs `docker compose pull` and hands each event here.

`COMPOSE_PROGRESS=json docker compose pull` writes one JSON object a line on stderr:
    {"id": "kafka", "text": "Pulling"}
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Downloading", "current": 302080, "total": 30009358}
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Pull complete", "percent": 100}
    {"id": "kafka", "text": "Pulled"}
    {"id": "kafka", "text": "Error", "status": "manifest for ... not found: manifest unknown: manifest unknown"}
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

from kafkalab.errors import ImageMissing

_DONE = {"Pull complete", "Already exists", "Download complete"}


@dataclasses.dataclass
class Layer:
    total: int = 0  # bytes, once the download has begun
    current: int = 0
    done: bool = False
    here: bool = False  # "Already exists": nothing to download


@dataclasses.dataclass
class ImagePull:
    service: str
    image: str
    started: float = dataclasses.field(default_factory=time.monotonic)
    layers: dict[str, Layer] = dataclasses.field(default_factory=dict)
    finished: float | None = None

    @property
    def downloaded(self) -> int:
        return sum(layer.total if layer.done else layer.current for layer in self.layers.values() if not layer.here)

    @property
    def size(self) -> int:
        """Bytes to download, as far as known: a layer's size is known once its download begins."""
        return sum(layer.total for layer in self.layers.values() if not layer.here)

    @property
    def layers_done(self) -> int:
        return sum(layer.done for layer in self.layers.values())

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def line(self) -> str:
        """The plain line for a log: "Pulled apache/kafka:4.4.0 (412 MB) in 31 s"."""
        cached = sum(layer.here for layer in self.layers.values())
        here = f", {cached} layer{'' if cached == 1 else 's'} already here" if cached else ""
        what = megabytes(self.downloaded) + here
        return f"Pulled {self.image} ({what}) in {self.seconds:.0f} s"


class PullProgress:
    """What Compose has said so far, per image."""

    def __init__(self, images: dict[str, str]) -> None:
        self.pulls = {service: ImagePull(service, image) for service, image in images.items()}

    def update(self, event: dict[str, Any]) -> ImagePull | None:
        """Take one event; returns the image it finished, if it did. Raises the registry's failure."""
        parent = event.get("parent_id")
        text = str(event.get("text", ""))
        if event.get("error") is True:
            raise pull_failed(self._guess(str(event.get("message", ""))), str(event.get("message", "")))
        if parent is None:
            pull = self.pulls.get(str(event.get("id")))
            if pull is None:
                return None
            if text == "Error":
                raise pull_failed(pull.image, str(event.get("status", "")))
            if text in ("Pulled", "Skipped") and pull.finished is None:
                pull.finished = time.monotonic()
                return pull
            return None
        pull = self.pulls.get(str(parent))
        if pull is None:
            return None
        layer = pull.layers.setdefault(str(event.get("id")), Layer())
        if isinstance(event.get("total"), int) and event["total"] > 0:
            layer.total = event["total"]
        if text == "Downloading" and isinstance(event.get("current"), int):
            layer.current = event["current"]
        layer.here = layer.here or text == "Already exists"
        layer.done = layer.done or text in _DONE
        return None

    def _guess(self, message: str) -> str:
        return next((p.image for p in self.pulls.values() if p.image in message), "of the lab")


def megabytes(count: int) -> str:
    return f"{count / 1e6:,.0f} MB" if count >= 1e6 else f"{count / 1e3:,.0f} kB"


def registry_of(image: str) -> str:
    """The registry an image reference names: its first part when that looks like a host, else Docker Hub."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


# What registries say, as the daemon passes it on (distribution 2.8 here; Docker Hub's wording for its
# rate limit). Each kind gets its own message and hint; all are ImageMissing, exit 8.
_KINDS = (
    ("rate", re.compile(r"toomanyrequests|pull rate limit", re.IGNORECASE)),
    ("auth", re.compile(r"unauthorized|authentication required|no basic auth credentials|denied: requested access",
                        re.IGNORECASE)),
    ("tag", re.compile(r"manifest unknown|not found|repository does not exist|pull access denied", re.IGNORECASE)),
    ("network", re.compile(r"connection refused|no such host|i/o timeout|dial tcp|server misbehaving|"
                           r"TLS handshake|network is unreachable|connection reset", re.IGNORECASE)),
)


def pull_failed(image: str, detail: str) -> ImageMissing:
    registry = registry_of(image)
    detail = detail.strip().removeprefix("Error response from daemon: ")
    kind = next((name for name, pattern in _KINDS if pattern.search(detail)), "other")
    if kind == "tag":
        return ImageMissing(
            f"Image {image} was not found in the registry {registry}: {detail}",
            "Check the image's name and tag: `kafkalab config` shows the images, set by KAFKALAB_IMAGE_*.",
        )
    if kind == "network":
        return ImageMissing(
            f"The registry {registry} did not answer when pulling {image}: {detail}",
            "Check the network or the proxy; or use --pull never with images that are already on this machine.",
        )
    if kind == "auth":
        return ImageMissing(
            f"The registry {registry} refused to send {image} without a login: {detail}",
            f"Log in to it with `docker login {registry}`, then run this again.",
        )
    if kind == "rate":
        return ImageMissing(
            f"The registry {registry} refused {image}: its pull rate limit is reached ({detail})",
            "Log in (`docker login`) for a higher limit, or wait and run this again.",
        )
    return ImageMissing(f"Image {image} could not be pulled from {registry}: {detail}",
                        "Run again with -v to see the docker commands.")
