"""What every command shares: its state (CliState: the global flags, -v, --debug), the signal
hand-off (work_begins), the question before deleting (confirm), and the ONE place errors become
output and exit codes (KafkalabGroup.invoke).

May import: click, kafkalab.errors, kafkalab.cli.render; kafkalab.lab and kafkalab.settings lazily.
No command module: they import this.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import signal
import sys
import traceback
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from kafkalab.cli import render
from kafkalab.errors import Aborted, Interrupted, KafkalabError, Terminated, signal_of

if TYPE_CHECKING:
    from kafkalab.lab.lab import Lab


@dataclasses.dataclass
class CliState:
    flags: dict[str, Any]  # the global flags (settings.GLOBAL_FLAGS), None where not given
    verbose: bool
    debug: bool

    def lab(self, **flags: Any) -> Lab:
        from kafkalab.lab.lab import Lab
        from kafkalab.settings import resolve

        settings = resolve({**self.flags, **{k: v for k, v in flags.items() if v is not None}})
        lab = Lab(settings, echo=render.command if self.verbose else None)
        work_begins()
        return lab


def work_begins() -> None:
    """From here on a Ctrl-C is a KeyboardInterrupt, which the command turns into what it left behind;
    SIGTERM and SIGHUP (`timeout`, a cancelled CI job, `docker stop`, a closed terminal) are the
    same, as Terminated, and the exit code is 128 + the signal's number.

    Until then (Python's start, the imports, the options) kafkalab._console ends the process quietly
    on Ctrl-C, and SIGTERM ends it at once: nothing was started. Every command that talks to Docker
    or Kafka calls this first.
    """
    with contextlib.suppress(ValueError):  # not the main thread: an application that embeds the CLI
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):  # Windows has no SIGHUP
                signal.signal(getattr(signal, name), raise_terminated)


def raise_terminated(signum: int, _frame: FrameType | None) -> None:
    """The handler of SIGTERM and SIGHUP once work began: Terminated, a KeyboardInterrupt."""
    raise Terminated(signum)


class KafkalabGroup(click.Group):
    """Maps every KafkalabError to two lines on stderr and its exit code; tracebacks only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KafkalabError as exc:
            self._debug_traceback(ctx)
            render.error(exc)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except click.exceptions.Abort:  # Ctrl-C or Ctrl-D at a [y/N] prompt: each asks before deleting
            render.error(Aborted("Nothing was deleted: the question was not answered."))
            ctx.exit(Aborted.exit_code)
        except BrokenPipeError:  # the reader of stdout left (`| head`): not an error
            discard_stdout()
            ctx.exit(0)
        except Interrupted as exc:  # `up` says what it left
            render.error(KafkalabError(exc.message, exc.hint))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP: any other command may be half done
            render.error(KafkalabError("Interrupted.", "It may have done part of its work: run it again to finish."))
            ctx.exit(128 + signal_of(exc))
        except Exception as exc:  # a bug: say so in two lines, unless --debug asks for the traceback
            self._debug_traceback(ctx)
            render.error(KafkalabError(
                f"Unexpected {type(exc).__name__}: {exc}",
                "Run again with --debug and report the traceback.",
            ))
            ctx.exit(1)

    @staticmethod
    def _debug_traceback(ctx: click.Context) -> None:
        if "--debug" in sys.argv or (isinstance(ctx.obj, CliState) and ctx.obj.debug):
            traceback.print_exc()


def discard_stdout() -> None:
    """The reader of stdout left (`| head`): send what Python still flushes at exit nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (tests): nothing will fail at exit


def confirm(question: str, kept: str) -> None:
    """Ask `question` [y/N] before deleting; Aborted (saying `kept`) unless the answer is yes.

    With no terminal to ask on (a script, CI, a pipe), Aborted at once: deleting needs --yes there.
    """
    if not sys.stdin.isatty():
        raise Aborted(f"{kept} There is no terminal to ask for confirmation.")  # its hint: pass --yes
    if not click.confirm(question, err=True):
        raise Aborted(kept)
