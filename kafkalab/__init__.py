"""kafkalab: a local Kafka for development, from one command, a Python API and a pytest plugin."""

from kafkalab.errors import KafkalabError
from kafkalab.lab import DownResult, Lab, LabStatus, UpResult
from kafkalab.settings import Settings, resolve

__all__ = ["DownResult", "KafkalabError", "Lab", "LabStatus", "Settings", "UpResult", "resolve"]
