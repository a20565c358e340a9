"""The `dicomidx` command, and the one boundary that turns errors into exit codes."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from dicomidx import __version__
from dicomidx.cli import demo, index, poison, validate
from dicomidx.cli import run as run_command
from dicomidx.cli.console import stderr
from dicomidx.cli.setup import setup_app
from dicomidx.cli.status import status
from dicomidx.errors import DicomidxError, ExitCode

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 internal error (a bug: please report it); 2 usage; "
    "3 configuration; 4 unreadable input; 5 authentication; 6 Azure refused a call; "
    "7 a service could not be reached; 8 a check found a difference (validate-events "
    "--expect, status drift); 130 interrupted."
)

app = typer.Typer(
    name="dicomidx",
    help=(
        "Provision and operate storage indexing for the Azure Health Data Services DICOM "
        "service: decide offline what happens to each storage event, index a file system "
        "from its event queue, operate the poison queue, and wire it all up in Azure."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("validate-events", epilog=EXIT_CODES_HELP)(validate.validate_events)
app.command("run", epilog=EXIT_CODES_HELP)(run_command.run)
app.add_typer(index.app, name="index", epilog=EXIT_CODES_HELP)
app.add_typer(poison.app, name="poison", epilog=EXIT_CODES_HELP)
app.command("demo", epilog=EXIT_CODES_HELP)(demo.demo)
app.add_typer(setup_app, name="setup", epilog=EXIT_CODES_HELP)
app.command("status", epilog=EXIT_CODES_HELP)(status)

_debug = False


def _version(value: bool) -> None:
    if value:
        print(f"dicomidx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and debug logs (never locals).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    global _debug
    _debug = debug
    if debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    else:
        # The SDK's own warnings (DefaultAzureCredential lists every credential it tried)
        # would arrive unformatted before dicomidx's error, which says what to do instead.
        logging.getLogger("azure").setLevel(logging.CRITICAL)


def main() -> None:
    """Console entry point: run the app and map every outcome to an exit code."""
    sys.exit(run(sys.argv[1:]))


def run(argv: list[str]) -> int:
    try:
        result = app(args=argv, prog_name="dicomidx", standalone_mode=False)
    except DicomidxError as error:
        _report(error)
        return int(error.exit_code)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.TyperException as error:
        # Bad flags and arguments; the exception prints its own usage text.
        show = getattr(error, "show", None)
        if show is not None:
            show()
        return int(getattr(error, "exit_code", ExitCode.USAGE))
    except (KeyboardInterrupt, typer.Abort):
        stderr.print("interrupted")
        return int(ExitCode.INTERRUPTED)
    except Exception:
        if _debug:
            stderr.print_exception(show_locals=False)
        else:
            stderr.print(
                "internal error: dicomidx hit a bug. Run again with --debug for the "
                "traceback and report it.",
                markup=False,
            )
        return int(ExitCode.INTERNAL)
    return result if isinstance(result, int) else int(ExitCode.OK)


def _report(error: DicomidxError) -> None:
    stderr.print(f"error: {error.message}", markup=False, style="red")
    if error.hint:
        stderr.print(f"hint: {error.hint}", markup=False)
    if _debug:
        stderr.print_exception(show_locals=False)
