"""kafkalab: a local Kafka for development, from one command, a Python API and a pytest plugin.

    from kafkalab import Lab
    with Lab() as lab:
        lab.create_topic("orders", partitions=3)

The names below load on first use, so that `kafkalab --help` and the pytest plugin stay quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kafkalab.errors import KafkalabError
    from kafkalab.lab.lab import DownResult, Lab, UpResult
    from kafkalab.lab.status import LabStatus
    from kafkalab.settings import Settings, resolve

_WHERE = {
    "KafkalabError": "kafkalab.errors",
    "Lab": "kafkalab.lab.lab",
    "LabStatus": "kafkalab.lab.status",
    "UpResult": "kafkalab.lab.lab",
    "DownResult": "kafkalab.lab.lab",
    "Settings": "kafkalab.settings",
    "resolve": "kafkalab.settings",
}
__all__ = ["DownResult", "KafkalabError", "Lab", "LabStatus", "Settings", "UpResult", "resolve"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'kafkalab' has no attribute {name!r}")
