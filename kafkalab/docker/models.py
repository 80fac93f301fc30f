"""What docker holds for a lab, as kafkalab reads it: its containers (Container) and all that carries
the project's name (Inventory). Plain data: kafkalab.docker.compose reads them from docker.

May import: kafkalab.lab.modes (which compose files are kafkalab's).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kafkalab.lab.modes import MODES


@dataclasses.dataclass(frozen=True)
class Container:
    service: str
    name: str
    state: str  # running, exited, paused, restarting, created, ...
    status: str  # docker's own words, e.g. "Up 3 minutes"
    ports: tuple[str, ...]
    image: str
    id: str = ""
    lab: str = ""  # its dev.kafkalab.lab label: the project, or "" on containers of earlier versions
    mode: str = ""  # its dev.kafkalab.mode label
    config_files: str = ""  # the compose files it was made from (Compose's own label)
    networks: tuple[str, ...] = ()  # the networks it is attached to, by name

    @property
    def running(self) -> bool:
        return self.state == "running"

    def owned_by(self, project: str, legacy: bool) -> bool:
        """kafkalab's: it carries the lab's label; or, where kafkalab 0.1 ran this project (legacy:
        its record says so), it was made from one of kafkalab's compose files, as 0.1 labelled nothing."""
        if self.lab:
            return self.lab == project
        return legacy and any(
            Path(f).name in _MODE_FILES and Path(f).parent.name == "compose" for f in self.config_files.split(",")
        )


_MODE_FILES = {spec.file for spec in MODES.values()}


@dataclasses.dataclass(frozen=True)
class Inventory:
    """What docker holds under the project's name: the lab's, and what is someone else's."""

    containers: tuple[Container, ...]
    volumes: tuple[str, ...]
    foreign: tuple[str, ...]  # "container NAME" and "volume NAME" of a compose project that is not kafkalab's
    adopted: tuple[str, ...] = ()  # the lab's volumes from kafkalab 0.1: no label, ever (Compose adds none)
    networks: tuple[str, ...] = ()  # the lab's networks (its label; kafkalab 0.1's <project>_default)
    # Whose the network of the lab's name is when it is not the lab's ("" when there is none such).
    network_taken: str = ""
