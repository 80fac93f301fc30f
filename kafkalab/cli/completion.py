"""The completion command: prints the shell's completion script. What Tab completes is complete.py's.

May import: click, kafkalab.cli.complete (lazily). Not kafkalab.cli.main: the root command is the context's.
"""

from __future__ import annotations

import sys
from typing import Literal

import click


@click.command(short_help="Print the shell completion script (bash, zsh or fish).")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: Literal["bash", "zsh", "fish"]) -> None:
    """Print the completion script of SHELL, through Click's own completion. It completes the
    commands and options, the topics and consumer groups that exist (asking the cluster that -b,
    -X and --context name, with at most 0.5 s of waiting), the contexts, the services of `logs`
    and the modes. To install it:

    \b
      echo 'eval "$(kafkalab completion bash)"' >> ~/.bashrc
      kafkalab completion zsh > "${fpath[1]}/_kafkalab"     # or: eval "$(kafkalab completion zsh)" in ~/.zshrc
      kafkalab completion fish > ~/.config/fish/completions/kafkalab.fish
    """
    from kafkalab.cli import complete

    sys.stdout.write(complete.script(ctx.find_root().command, shell))
