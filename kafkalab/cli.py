"""The `kafkalab` command: thin. Each command parses its options, calls `Lab`, and hands the result
to `render`. Errors are mapped to output and exit codes in one place, `KafkalabGroup.invoke`."""

from __future__ import annotations

import dataclasses
import sys
import traceback
from typing import TYPE_CHECKING, Any

import click

from kafkalab import render
from kafkalab.errors import STATUS_DEGRADED, STATUS_NOT_RUNNING, Aborted, KafkalabError

if TYPE_CHECKING:
    from kafkalab.lab import Lab


@dataclasses.dataclass
class CliState:
    flags: dict[str, Any]
    verbose: bool
    debug: bool

    def lab(self, **flags: Any) -> Lab:
        from kafkalab.lab import Lab
        from kafkalab.settings import resolve

        settings = resolve({**self.flags, **{k: v for k, v in flags.items() if v is not None}})
        return Lab(settings, echo=render.command if self.verbose else None)


class KafkalabGroup(click.Group):
    """Maps every KafkalabError to two lines on stderr and its exit code; tracebacks only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KafkalabError as exc:
            self._debug_traceback(ctx)
            render.error(exc)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            render.note("Interrupted.")
            ctx.exit(130)
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kafkalab")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(cls=KafkalabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kafkalab", message="kafkalab %(version)s")
@click.option("--project-name", "-p", "project", metavar="NAME", help="Compose project name [KAFKALAB_PROJECT; default kafkalab].")
@click.option("--port", type=int, help="Host port of the EXTERNAL listener [KAFKALAB_PORT; default 9094].")
@click.option("--ui-port", type=int, help="Host port of kafka-ui [KAFKALAB_UI_PORT; default 8080].")
@click.option("-v", "--verbose", is_flag=True, help="Show each docker command as it runs.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, project: str | None, port: int | None, ui_port: int | None, verbose: bool, debug: bool) -> None:
    """A local Kafka for development: start it, check it, reset it, use it.

    \b
      kafkalab up                 # KRaft Kafka 4 + kafka-ui, ready on localhost:9094
      kafkalab status             # health of the lab
      kafkalab down --volumes     # reset
    """
    ctx.obj = CliState({"project": project, "port": port, "ui_port": ui_port}, verbose, debug)


MODE = click.Choice(["kraft", "zookeeper"])
PULL = click.Choice(["missing", "never", "always"])
PHASES = {
    "preflight": "Checking Docker",
    "containers": "Starting containers",
    "broker": "Waiting for the broker to answer",
    "ui": "Waiting for kafka-ui to answer",
}


@cli.command(short_help="Start the lab and wait until it is ready.")
@click.option("--mode", type=MODE, help="kraft (default: Kafka 4, no ZooKeeper) or zookeeper (the classic trio).")
@click.option("--timeout", type=float, metavar="SECONDS", help="Readiness deadline [default 120].")
@click.option("--no-ui", is_flag=True, help="Do not start kafka-ui.")
@click.option("--pull", type=PULL, help="Image pull policy [default missing].")
@click.option("--no-wait", is_flag=True, help="Return once the containers are started.")
@click.pass_obj
def up(state: CliState, mode: str | None, timeout: float | None, no_ui: bool, pull: str | None, no_wait: bool) -> None:
    """Start the lab with Docker Compose, wait until the broker answers on localhost:9094 (and
    kafka-ui on 8080), then print the status. Running it again on a running lab is fine.

    \b
      kafkalab up
      kafkalab up --mode zookeeper --timeout 60
    """
    lab = state.lab(mode=mode, timeout=timeout, pull=pull)
    with render.progress(PHASES["preflight"]) as line:
        result = lab.up(ui=not no_ui, wait=not no_wait, on_phase=lambda p: setattr(line, "text", PHASES[p]))
    if result.already_running:
        render.note(f"The lab {lab.settings.project} is already running.")
    else:
        render.note(f"Ready in {result.seconds:.1f} s.")
    render.lab_status(result.status)


@cli.command(short_help="Show the health of the lab.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Each service's state and ports, the broker (bootstrap, cluster id, controller, brokers,
    topics, partitions) and the UI. Exit 0 healthy, 20 not running, 21 degraded.

    \b
      kafkalab status --json | jq .state
    """
    result = ctx.obj.lab().status()
    if as_json:
        render.print_json(result.to_dict())
    else:
        render.lab_status(result)
    if result.state == "not running":
        ctx.exit(STATUS_NOT_RUNNING)
    if result.state == "degraded":
        ctx.exit(STATUS_DEGRADED)


@cli.command(short_help="Stop and remove the lab.")
@click.option("--volumes", is_flag=True, help="Also delete the lab's data (its volumes, nothing else).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting data.")
@click.pass_obj
def down(state: CliState, volumes: bool, yes: bool) -> None:
    """Stop and remove the lab's containers; --volumes deletes its data too. Safe to repeat.

    \b
      kafkalab down --volumes --yes
    """
    lab = state.lab()
    if volumes and not yes and sys.stdin.isatty():
        if not click.confirm(f"Delete all data of the lab {lab.settings.project}?", err=True):
            raise Aborted("Nothing was deleted.")
    with render.progress("Stopping the lab"):
        result = lab.down(volumes=volumes)
    removed = f"{len(result.containers)} containers"
    if volumes:
        removed += f" and {len(result.volumes)} volumes"
    render.note(f"Removed {removed} of {lab.settings.project}.")


@cli.command(short_help="Show the logs of the lab's containers.")
@click.argument("service", required=False, type=click.Choice(["zookeeper", "kafka", "kafka-ui"]))
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", type=int, metavar="N", help="Only the last N lines of each container.")
@click.pass_obj
def logs(state: CliState, service: str | None, follow: bool, tail: int | None) -> None:
    """Print the logs of SERVICE (zookeeper, kafka or kafka-ui), or of all of them.

    \b
      kafkalab logs kafka --tail 50 -f
    """
    for chunk in state.lab().logs(service, follow=follow, tail=tail):
        sys.stdout.write(chunk)
        sys.stdout.flush()


@cli.command(short_help="Show each setting and where it came from.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def config(state: CliState, as_json: bool) -> None:
    """Settings resolve from flags, then KAFKALAB_* variables, then [tool.kafkalab] in
    ./pyproject.toml or ./kafkalab.toml, then defaults.

    \b
      KAFKALAB_PORT=19094 kafkalab config
    """
    from kafkalab.settings import resolve

    rows = resolve({k: v for k, v in state.flags.items() if v is not None}).as_rows()
    if as_json:
        render.print_json({name: {"value": value, "source": source} for name, value, source in rows})
    else:
        render.table(None, ("setting", "value", "source"), rows)


def main() -> None:
    """The console script: `kafkalab`."""
    cli(prog_name="kafkalab")
