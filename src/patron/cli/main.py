"""`patron ...`: every reading command prints a table, or one JSON document with --format json.

This module only assembles the commands; each group lives in its own module and imports the
stages it runs inside its commands, so that `patron --help` or `patron status` start at once.
"""

from __future__ import annotations

import os
import sys

import typer

from patron.cli import (
    actions,
    customer,
    demo,
    export,
    identity,
    invest,
    listen,
    load,
    metrics,
    outlook,
    predict,
    programs,
    serve,
    value,
)
from patron.cli import run as pipeline
from patron.cli.render import err, error_json, problem
from patron.errors import PatronError

app = typer.Typer(
    help="patron: the customer command center. Start with `patron demo`.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
)

for command in (load.init, load.check, load.ingest, pipeline.run, load.quarantine, load.status, load.briefing,
                predict.predict, predict.risk, outlook.renewals, outlook.health, value.drivers, value.clv,
                invest.invest, programs.programs, demo.generate, demo.demo, serve.serve, export.export):
    app.command()(command)
app.add_typer(identity.app, name="identity")
app.add_typer(metrics.app, name="metrics")
app.add_typer(listen.app, name="listen")
app.add_typer(serve.keys_app, name="keys")
app.add_typer(customer.app, name="customer")
app.add_typer(actions.app, name="actions")


def _json_errors() -> None:
    """The app for a script that asked for --format json: a mistake in its arguments (an unknown
    option, a bad value) is one JSON object on stderr, as every other error is, never Click's box."""
    try:  # Typer carries its own Click from 0.2x on; before, it used the click package
        from typer._click import exceptions as click_errors
    except ImportError:
        from click import exceptions as click_errors

    try:
        code = app(standalone_mode=False)
    except click_errors.ClickException as e:
        usage = isinstance(e, click_errors.UsageError)
        error_json(e.format_message(), usage=(e.ctx.command_path if e.ctx else "patron") if usage else None)
        sys.exit(e.exit_code)
    except (typer.Abort, getattr(click_errors, "Abort", typer.Abort)):
        error_json("aborted")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def run() -> None:
    """Entry point: the one place a PatronError becomes one line on stderr and exit code 1."""
    # the warehouse, the briefing and every other file a command writes hold customers' data:
    # readable by their owner only
    os.umask(0o077)
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    as_json = any(a in ("--format=json", "-f=json") for a in sys.argv) or any(
        a in ("--format", "-f") and i + 1 < len(sys.argv) and sys.argv[i + 1] == "json"
        for i, a in enumerate(sys.argv))
    try:
        if as_json:
            _json_errors()
        else:
            app()
    except (PatronError, OSError) as e:
        if debug:
            raise
        # a file or folder the command cannot write or read (a missing folder, a file where a
        # folder is meant): its path and the system's reason, never a traceback
        message = f"{e.filename}: {e.strerror.lower()}" if isinstance(e, OSError) and e.filename and e.strerror \
            else str(e)
        if as_json:
            error_json(message)
        else:
            problem(message)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was half-loaded (each load is all or nothing)")
        sys.exit(130)
