"""The console script (`kafkalab`, `python -m kafkalab`): a Ctrl-C before a command begins is quiet.

Python turns a Ctrl-C into a KeyboardInterrupt wherever it lands, so one that comes while kafkalab
is still importing Click and its own modules would print a traceback. Until a command begins its
work (cli.app.work_begins puts Python's own handler back), nothing has been started, and a Ctrl-C ends
the process at once with the two lines every error has, and exit 130.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

_BEFORE = b"Error: Interrupted before kafkalab began its work.\nHint: Nothing was started.\n"


def _quiet(_signum: int, _frame: FrameType | None) -> None:
    os.write(2, _BEFORE)
    os._exit(130)


def main() -> None:
    signal.signal(signal.SIGINT, _quiet)
    from kafkalab.cli.main import main as run

    run()
