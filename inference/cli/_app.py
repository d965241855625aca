"""The typer app and the error boundary shared by every command."""

from __future__ import annotations

import functools
import os
import re
import sys
import warnings

import typer
from typer.core import TyperGroup

from newsroles.model.errors import InputWarning, UserError
from newsroles.model.store.folder import package_version

# click's exception classes, wherever this typer takes click from (click itself, or its own copy).
_CLICK_ERRORS = {c.__name__: c for c in typer.BadParameter.__mro__}
ClickException, UsageError = _CLICK_ERRORS["ClickException"], _CLICK_ERRORS["UsageError"]


class OneLineErrors(TyperGroup):
    """The root command: a usage error (an unknown option, a bad choice, a missing argument) is one
    line, `error: ...`, with exit code 2, like every other bad input; no usage box."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # the help text a bare command prints
            else:
                ctx = getattr(exc, "ctx", None)
                hint = f" (see {ctx.command_path} --help)" if isinstance(exc, UsageError) and ctx is not None else ""
                typer.echo(f"error: {one_line(exc.format_message()).replace('Value error, ', '')}{hint}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="newsroles",
    help=(
        "Tag every sentence of a news article as stance, quote, background or fact.\n\n"
        "Example: newsroles label story.txt --model models/default/<version>\n\n"
        "Shell completion: newsroles --install-completion"
    ),
    cls=OneLineErrors,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def print_version(value: bool) -> None:
    if value:
        typer.echo(f"newsroles {package_version()}")
        raise typer.Exit()


@app.callback()
def options(
    version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit.", is_eager=True, callback=print_version),
) -> None:
    """Tag every sentence of a news article as stance, quote, background or fact."""


def user_errors(fn):
    """Print a UserError as one line on stderr and exit with code 2; no traceback.

    Python warnings raised meanwhile (an `InputWarning`: bytes replaced, HTML markup taken out)
    are printed as one line each, `warning: ...`, not as Python's two-line warning format.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        quiet_libraries()
        with warnings.catch_warnings():
            warnings.filterwarnings("always", category=InputWarning)  # each file's own warning, every run
            warnings.showwarning = show_warning
            try:
                return fn(*args, **kwargs)
            except UserError as exc:
                typer.echo(f"error: {one_line(str(exc))}", err=True)
                raise typer.Exit(2)
            except KeyboardInterrupt:
                typer.echo("interrupted: nothing half-written was left behind; rerun with --resume to continue", err=True)
                raise typer.Exit(130)

    return wrapper


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """`text` as one clean terminal line: line breaks (in a library's message, or in a bad record
    quoted by one) become spaces, other control characters are shown escaped, never sent raw."""
    if "\n" in text or "\r" in text or "\t" in text:
        text = " ".join(text.split())
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """warnings.showwarning for the CLI: `warning: <message>` on one line of stderr."""
    text = one_line(str(message))
    if not issubclass(category, InputWarning):
        text = f"{text} ({category.__name__})"
    typer.echo(f"warning: {text}", err=True)


def quiet_libraries() -> None:
    """Our own progress bars and messages only: no per-file 'Loading weights' bars from transformers."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:
        from transformers.utils import logging

        logging.set_verbosity_error()
        logging.disable_progress_bar()


def parse_overrides(args: list[str]) -> dict[str, str]:
    """`--train.epochs 2 --model.type=sentence` -> {"train.epochs": "2", "model.type": "sentence"}."""
    out, i = {}, 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise UserError(f"unexpected argument '{arg}'; config overrides look like --section.key value")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise UserError(f"override --{key} needs a value")
            value, i = args[i + 1], i + 1
        out[key.replace("-", "_")] = value
        i += 1
    return out


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def is_tty() -> bool:
    return sys.stderr.isatty()
