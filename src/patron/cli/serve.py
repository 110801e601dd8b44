"""`patron keys ...` and `patron serve`: the feedback API and the keys its clients send."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patron.cli.options import ConfigOpt, DbOpt, FormatOpt
from patron.cli.render import Format, emit_json, escape, out, say, table
from patron.errors import PatronError
from patron.project import Project

keys_app = typer.Typer(help="API keys for `patron serve`: shown once, only their hash is kept.",
                       no_args_is_help=True)


@keys_app.command("create")
def keys_create(name: str, config: ConfigOpt = Path("patron.yml"), db: DbOpt = None,
                fmt: FormatOpt = Format.table) -> None:
    """Make a key for one client (a web widget, a survey tool); it is printed this once."""
    from patron.api.keys import create_key

    with Project.open(config, db) as project:
        key = create_key(project.warehouse, name)
    if fmt is Format.json:
        emit_json({"name": name, "key": key})
        return
    out.print(f"API key [bold]{escape(name)}[/]: {key}", highlight=False, soft_wrap=True)
    say("Store it now: patron keeps only its hash and cannot show it again. "
        "Send it as `Authorization: Bearer KEY`.")


@keys_app.command("list")
def keys_list(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Every key's name, first characters and dates (never the key)."""
    from patron.api.keys import list_keys

    with Project.open(config, db) as project:
        keys = list_keys(project.warehouse)
    if fmt is Format.json:
        emit_json(keys)
        return
    if not keys:
        say("No API keys yet: create one with `patron keys create NAME`.")
        return
    table("API keys", ["name", "starts with", "created", "revoked"],
          [[k["name"], k["prefix"], k["created_at"], k["revoked_at"]] for k in keys])


@keys_app.command("revoke")
def keys_revoke(name: str, config: ConfigOpt = Path("patron.yml"), db: DbOpt = None) -> None:
    """Stop a key working (a running `patron serve` refuses it from its next load, within seconds)."""
    from patron.api.keys import revoke_key

    with Project.open(config, db) as project:
        revoke_key(project.warehouse, name)
    say(f"Key {name!r} revoked.")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None,
) -> None:
    """Serve the feedback API (POST /api/feedback); needs a key from `patron keys create`."""
    import uvicorn

    from patron.api.app import create_app

    with Project.open(config, db) as project:
        # created or upgraded now; the service opens it only while it loads
        path = project.duckdb_file("patron serve", "keeps its intake log and lock beside a DuckDB file, which it "
                                   "opens only while it loads")
        settings = project.config.api if project.config else None
        tolerance = project.config.ingest.future_tolerance_days if project.config else 1
    from patron.config import ApiSettings
    from patron.ingest.intake_log import FolderLock, log_folder

    lock = FolderLock(log_folder(path))  # a second service on this warehouse stops here, with the reason
    settings = settings or ApiSettings()
    api = create_app(path, lock, cors_origins=settings.cors_origins, openapi=settings.openapi, docs=settings.docs,
                     requests_per_second=settings.requests_per_second, items_per_minute=settings.items_per_minute,
                     future_tolerance_days=tolerance)
    if not api.state.keys:
        raise PatronError("no active API key: create one with `patron keys create NAME` first")
    say(f"patron serving {path} on http://{host}:{port} (POST /api/feedback); Ctrl-C stops it")
    uvicorn.run(api, host=host, port=port, log_level="warning")
