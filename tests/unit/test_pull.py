"""The pull's progress from Compose's JSON events (as recorded from Compose 2.40 pulling from the
bed's registry), and the registry's failures as typed errors."""

from __future__ import annotations

import pytest

from kafkalab.docker.pull import PullProgress, registry_of
from kafkalab.errors import ImageMissing

EVENTS = [
    {"id": "kafka", "text": "Pulling"},
    {"id": "1d2272f16acf", "parent_id": "kafka", "text": "Already exists", "percent": 100},
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Pulling fs layer"},
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Downloading", "current": 302080, "total": 30009358,
     "percent": 1},
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Downloading", "current": 23084032, "total": 30009358,
     "percent": 76},
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Verifying Checksum"},
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Download complete", "percent": 100},
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Extracting", "current": 327680, "total": 30009358},
    {"id": "2bae28447e85", "parent_id": "kafka", "text": "Pull complete", "percent": 100},
]


def test_progress_counts_layers_and_bytes_and_says_when_an_image_is_done() -> None:
    progress = PullProgress({"kafka": "apache/kafka:4.4.0"})
    for event in EVENTS[:5]:
        assert progress.update(event) is None
    pull = progress.pulls["kafka"]
    assert (pull.downloaded, pull.size, pull.layers_done, len(pull.layers)) == (23084032, 30009358, 1, 2)
    for event in EVENTS[5:]:
        assert progress.update(event) is None
    assert pull.downloaded == 30009358  # extracting does not count as more bytes
    done = progress.update({"id": "kafka", "text": "Pulled"})
    assert done is pull
    assert done.line() == f"Pulled apache/kafka:4.4.0 (30 MB, 1 layer already here) in {done.seconds:.0f} s"


def test_an_error_event_is_the_registrys_failure() -> None:
    progress = PullProgress({"kafka": "127.0.0.1:5555/apache/kafka:9.9"})
    with pytest.raises(ImageMissing) as raised:
        progress.update({"id": "kafka", "text": "Error", "status": "manifest for 127.0.0.1:5555/apache/kafka:9.9 "
                         "not found: manifest unknown: manifest unknown"})
    assert raised.value.message.startswith("Image 127.0.0.1:5555/apache/kafka:9.9 was not found in the registry "
                                           "127.0.0.1:5555: ")


@pytest.mark.parametrize(("image", "registry"), [
    ("apache/kafka:4.4.0", "docker.io"),
    ("ghcr.io/kafbat/kafka-ui:v1.5.0", "ghcr.io"),
    ("127.0.0.1:5555/apache/kafka:4.4.0", "127.0.0.1:5555"),
    ("localhost/kafka:1", "localhost"),
    ("kafka:1", "docker.io"),
])
def test_registry_of_an_image(image: str, registry: str) -> None:
    assert registry_of(image) == registry
