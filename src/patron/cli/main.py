"""`patron ...`: every reading command prints a Rich table, or one JSON document with --format json."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from patron.cli.render import Format, emit_json, err, out, table
from patron.errors import PatronError
from patron.ingest import IngestResult
from patron.project import Project, as_dicts

app = typer.Typer(
    help="patron: the customer command center. Start with `patron demo`.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
)

DbOpt = Annotated[
    Path | None, typer.Option("--db", help="Warehouse file (default: patron.yml's, else ./patron.duckdb).")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table (readable) or json (for scripts).")]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Project file.")]


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


class _IngestBar:
    """One bar per file: read (the engine's own %), then check and load."""

    def __init__(self, bar: Progress):
        self.bar, self.tasks = bar, {}

    def __call__(self, file: str, step: str, pct: float) -> None:
        if file not in self.tasks:
            self.tasks[file] = self.bar.add_task(file, total=100)
        shown = {"read": 0.8 * pct, "check": 85, "load": 92, "done": 100}[step]
        self.bar.update(self.tasks[file], completed=shown, description=f"{step:>5} {file}")


def _render_ingest(result: IngestResult, fmt: Format) -> None:
    if fmt is Format.json:
        emit_json(result.to_dict())
        return
    files_of = Counter(f.source for f in result.files)
    rows = [[f.source if files_of[f.source] == 1 else f"{f.source} {Path(f.file).name}",
             f.read, f.loaded, f.updated, f.already_loaded, f.quarantined] for f in result.files]
    t = result.to_dict()["totals"]
    rows.append(["total", t["read"], t["loaded"], t["updated"], t["already_loaded"], t["quarantined"]])
    numbers = ["read", "loaded", "updated", "already", "quarantined"]
    table("Ingest: read = loaded + already + quarantined", ["source", *numbers], rows, set(numbers))
    if t["quarantined"]:
        out.print(f"[yellow]{t['quarantined']:,} rows quarantined[/]: see why with `patron quarantine`.")
    ignored = {c for f in result.files for c in f.ignored_columns}
    if ignored:
        names = ", ".join(sorted(ignored))
        out.print(f"[dim]Columns not mapped to the model (kept in the files, not loaded): {names}[/]")


@app.command()
def init(
    config: ConfigOpt = Path("patron.yml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented patron.yml to start from."""
    if config.exists() and not force:
        raise PatronError(f"{config}: already exists; use --force to overwrite it")
    config.write_text(resources.files("patron").joinpath("project_template.yml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    out.print(f"Wrote {config}. Add your sources under [bold]sources:[/], then run [bold]patron check[/].")


@app.command()
def check(config: ConfigOpt = Path("patron.yml"), fmt: FormatOpt = Format.table) -> None:
    """List every problem in patron.yml and its sources' files at once (exit code 1 if any)."""
    cfg, problems = Project.check(config)
    if fmt is Format.json:
        emit_json({"file": str(config), "ok": not problems, "problems": problems,
                   "sources": list(cfg.sources) if cfg else []})
    elif problems:
        for p in problems:
            err.print(f"[red]{config}[/]: {p}", highlight=False, soft_wrap=True)
    else:
        out.print(f"{config}: ok — {len(cfg.sources)} sources, {len(cfg.journey)} journey stages")
    if problems:
        raise typer.Exit(1)


@app.command()
def ingest(
    file: Annotated[Path | None, typer.Argument(help="A one-off file whose columns carry canonical names.")] = None,
    into: Annotated[str | None, typer.Option("--into", help="Canonical table for FILE.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only these configured sources.")] = None,
    config: ConfigOpt = Path("patron.yml"),
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Load the configured sources (or FILE --into TABLE); bad rows go to quarantine."""
    if file is not None and into is None:
        raise PatronError(f"{file}: say which table it loads into with --into (e.g. --into responses)")
    if into is not None and file is None:
        raise PatronError("--into needs a FILE to load")
    with Project.open(config, db) as project, _progress() as bar:
        cb = _IngestBar(bar)
        result = (project.ingest_file(file, into, progress=cb) if file is not None
                  else project.ingest(source, progress=cb))
    _render_ingest(result, fmt)


identity_app = typer.Typer(help="Who is who: master customers across every source.", no_args_is_help=True)
app.add_typer(identity_app, name="identity")


@identity_app.command("resolve")
def identity_resolve(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Link every source's customer ids to master customers and write customer_id everywhere."""
    with Project.open(config, db, require_config=True) as project:
        result = project.resolve_identities()
    if fmt is Format.json:
        emit_json(result.to_dict())
        return
    r = result
    table("Identity resolution", ["", "count"], [
        ["source records", r.records], ["master customers", r.customers],
        ["links by rule (same domain or email)", r.rule_links], ["links by the model", r.model_links],
        ["pairs to review", r.to_review], ["records with nothing to match on", r.alone],
        ["master ids kept from the last run", r.kept_ids], ["records with a new master id", r.new_ids],
    ], {"count"})


@identity_app.command("review")
def identity_review(
    limit: Annotated[int, typer.Option(help="At most this many pairs.")] = 30,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Pairs the model is unsure about (between review_below and match_threshold), most likely first."""
    with Project.open(config, db) as project:
        pairs = project.identity_review(limit)
    if fmt is Format.json:
        emit_json(pairs)
    elif not pairs:
        out.print("Nothing to review.")
    else:
        table("Pairs to review: decide with `patron identity decide RECORD RECORD --merge|--apart`",
              ["record", "name", "domain", "record ", "name ", "domain ", "probability"],
              [[p["record_l"], p["name_l"], p["domain_l"], p["record_r"], p["name_r"], p["domain_r"],
                f"{p['match_probability']:.3f}"] for p in pairs], {"probability"})


@identity_app.command("decide")
def identity_decide(
    record_l: Annotated[str, typer.Argument(help="A record, written system:ref.")],
    record_r: Annotated[str, typer.Argument(help="Another record, written system:ref.")],
    merge: Annotated[bool, typer.Option("--merge/--apart", help="Same customer (--merge) or not (--apart).")],
    note: Annotated[str | None, typer.Option(help="Why, for whoever looks next.")] = None,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None,
) -> None:
    """Record a person's decision about two records; it wins over the model on every later run."""
    with Project.open(config, db) as project:
        project.identity_decide(record_l, record_r, "merge" if merge else "apart", note)
    out.print(f"Recorded: {record_l} and {record_r} {'are' if merge else 'are not'} the same customer. "
              "Run `patron identity resolve` to apply it.")


metrics_app = typer.Typer(help="The metric catalog: one definition of each number.", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")


@metrics_app.command("list")
def metrics_list(config: ConfigOpt = Path("patron.yml"), fmt: FormatOpt = Format.table) -> None:
    """Every metric: what it measures, its unit, owner and target."""
    specs = Project.open(config).catalog()
    if fmt is Format.json:
        emit_json([s.model_dump() for s in specs.values()])
        return
    table("Metric catalog", ["metric", "label", "unit", "better", "owner", "target"],
          [[s.name, s.label, s.unit, s.better, s.owner, s.target] for s in specs.values()])


@metrics_app.command("explain")
def metrics_explain(name: str, config: ConfigOpt = Path("patron.yml"), fmt: FormatOpt = Format.table) -> None:
    """A metric's definition, its SQL and its owner."""
    from patron.metrics import compile_metric, render

    specs = Project.open(config).catalog()
    if name not in specs:
        raise PatronError(f"no metric {name!r}; metrics are: {', '.join(sorted(specs))}")
    s = specs[name]
    sql = render(compile_metric(s, [], "month", specs), pretty=True)
    if fmt is Format.json:
        emit_json(s.model_dump() | {"sql": sql})
        return
    out.print(f"[bold]{s.label}[/] ({s.name})\n{s.definition}\n")
    out.print(f"unit {s.unit}, {s.better} is better; owner {s.owner or '(none set)'}; target "
              f"{s.target if s.target is not None else '(none set)'}; by: {', '.join(s.dimensions)}\n")
    out.print(sql, highlight=False, soft_wrap=True)


@metrics_app.command("show")
def metrics_show(
    name: str,
    by: Annotated[list[str] | None, typer.Option("--by", help="Slice by this dimension (repeatable).")] = None,
    period: Annotated[str | None, typer.Option(help="day, week, month, quarter or year.")] = None,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """A metric's values with n and 95% intervals; a change is flagged only when significant."""
    with Project.open(config, db) as project:
        df = project.metric(name, by or [], period)
    if fmt is Format.json:
        emit_json(df.astype(object).where(df.notna(), None).to_dict(orient="records"))
        return
    keys = [*(by or []), *(["period"] if "period" in df.columns else [])]
    rows = []
    for _, r in df.iterrows():
        ci = "" if pd.isna(r["ci_low"]) else f"{r['ci_low']:.3g} to {r['ci_high']:.3g}"
        change = "" if r["significant"] is None else ("significant" if r["significant"] else "no")
        labels = ["(none)" if r[k] is None or pd.isna(r[k]) else str(r[k])[:10] for k in keys]
        value = "–" if pd.isna(r["value"]) else f"{r['value']:.4g}"
        rows.append([*labels, value, ci, int(r["n"]), change, r["note"].removeprefix("not available: ")])
    table(f"{name}: {len(df)} values; a dash is not available, with the reason in the last column",
          [*keys, "value", "95% interval", "n", "change vs previous", "not available because"], rows,
          {"value", "n"})


@metrics_app.command("run")
def metrics_run(
    period: Annotated[str | None, typer.Option(help="day, week, month, quarter or year (revenue is monthly).")]
    = "month",
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Evaluate the whole catalog at once and store it in metric_values (the briefing reads it)."""
    with Project.open(config, db) as project:
        df = project.metrics(period=period)
    latest = df.dropna(subset=["value"]).groupby("metric").tail(1) if "period" in df.columns else df
    if fmt is Format.json:
        emit_json(latest.astype(object).where(latest.notna(), None).to_dict(orient="records"))
        return
    rows = [[r["metric"], str(r.get("period", ""))[:10], f"{r['value']:.4g}", int(r["n"])]
            for _, r in latest.iterrows()]
    table(f"Catalog evaluated ({len(df)} values stored); latest value of each metric",
          ["metric", "period", "value", "n"], rows, {"value", "n"})


listen_app = typer.Typer(help="What customers say: sentiment and complaints in every comment, ticket and "
                         "feedback item.", no_args_is_help=True)
app.add_typer(listen_app, name="listen")


@listen_app.command("enrich")
def listen_enrich(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Score the sentiment of every text not yet scored and flag complaints (offline model)."""
    with Project.open(config, db) as project, _progress() as bar:
        task = bar.add_task("scoring texts", total=None)
        result = project.enrich(lambda done, total: bar.update(task, completed=done, total=total))
        summary = project.warehouse.rows(
            "SELECT source_table, count(*), avg(sentiment_score), count(*) FILTER (sentiment_label = 'negative'), "
            "count(*) FILTER (complaint) FROM enrichment GROUP BY 1 ORDER BY 1")
    if fmt is Format.json:
        emit_json(result.to_dict() | {"tables": [dict(zip(["table", "items", "mean_score", "negative", "complaints"],
                                                            r, strict=True)) for r in summary]})
        return
    out.print(f"Scored {result.items:,} new texts in {result.seconds:.1f} s ({result.items_per_s:,.0f}/s) "
              f"with {result.model}")
    table("Texts scored so far", ["table", "items", "mean sentiment", "negative", "complaints"],
          [[t, n, f"{m:+.2f}", neg, c] for t, n, m, neg, c in summary], {"items", "negative", "complaints"})


@listen_app.command("themes")
def listen_themes(
    k: Annotated[int | None, typer.Option("--themes", min=1, max=200,
                                          help="How many themes to fit (default: from the volume).")] = None,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Discover what customers write about; a theme found again keeps its id and name."""
    with Project.open(config, db) as project:
        result, df = project.themes(k)
    if fmt is Format.json:
        emit_json({"items": result.items, "unthemed": result.unthemed, "unthemed_share": result.unthemed_share,
                   "notes": result.notes,
                   "themes": df.astype(object).where(df.notna(), None).to_dict(orient="records")})
        return
    table(f"{len(df)} themes in {result.items:,} texts; {result.unthemed_share:.1%} without a theme "
          "(sentiment: mean from -1 to 1; ARR: of the customers raising it)",
          ["theme", "name", "texts", "share", "sentiment", "complaints", "customers", "ARR", "example"],
          [[r.theme_id + (" (new)" if r.new else "") + (" (emerging)" if r.emerging else ""), r.name, int(r.items),
            f"{r.share:.1%}",
            "" if pd.isna(r.sentiment) else f"{r.sentiment:+.2f}", int(r.complaints), int(r.customers),
            f"${r.arr:,.0f}", (r.example or "")[:70]] for r in df.itertuples()],
          {"texts", "share", "sentiment", "complaints", "customers", "ARR"})
    for note in result.notes:
        out.print(f"[yellow]taxonomy:[/] {note}")


@listen_app.command("trends")
def listen_trends(
    by: Annotated[str, typer.Option(help="theme, channel or touchpoint.")] = "theme",
    period: Annotated[str, typer.Option(help="day, week or month.")] = "week",
    since: Annotated[str | None, typer.Option(help="From this day on (YYYY-MM-DD).")] = None,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Volume, share and sentiment per theme, channel or touchpoint and period."""
    from patron.listen.trends import trends

    with Project.open(config, db) as project:
        df = trends(project.existing_warehouse(), by, period, since)
    if fmt is Format.json:
        emit_json(df.astype(object).where(df.notna(), None).assign(period=df["period"].astype(str).str[:10])
                  .to_dict(orient="records"))
        return
    table(f"What customers write, by {by} and {period}", [by, period, "texts", "share", "sentiment", "negative",
                                                          "complaints"],
          [[getattr(r, by), str(r.period)[:10], int(r.texts), f"{r.share:.1%}", f"{r.sentiment:+.2f}",
            f"{r.negative_share:.0%}", int(r.complaints)] for r in df.itertuples()],
          {"texts", "share", "sentiment", "negative", "complaints"})


@listen_app.command("spikes")
def listen_spikes(
    since: Annotated[str | None, typer.Option(help="Only spikes from this day on (YYYY-MM-DD).")] = None,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Days when a theme's (or channel's) volume jumped far above its weekday-adjusted history; kept in `alerts`."""
    from datetime import date as _date

    from patron.listen.spikes import detect, store

    try:
        start = _date.fromisoformat(since) if since else None
    except ValueError:
        raise PatronError(f"--since: {since!r} is not a date (YYYY-MM-DD)") from None
    with Project.open(config, db) as project:
        alerts = detect(project.existing_warehouse(), start)
        store(project.warehouse, alerts)  # the alerts table keeps them for scripts and history
    if fmt is Format.json:
        emit_json([a.__dict__ | {"first_day": str(a.first_day), "last_day": str(a.last_day)} for a in alerts])
        return
    table(f"{len(alerts)} spikes (negative binomial against the theme's last 28 days and the weekday; p < 0.0001)",
          ["theme", "from", "to", "texts", "expected", "p", "channels", "example"],
          [[a.name, str(a.first_day), str(a.last_day), a.observed, f"{a.expected:.1f}", f"{a.p_value:.1g}",
            ", ".join(f"{k} {v}" for k, v in list(a.channels.items())[:3]), (a.examples[0] if a.examples else "")[:60]]
           for a in alerts], {"texts", "expected", "p"})


@listen_app.command("touchpoints")
def listen_touchpoints(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """NPS and comment sentiment per touchpoint and journey stage, weakest first."""
    from patron.report.touchpoints import ranking

    with Project.open(config, db) as project:
        df = ranking(project.existing_warehouse(), project.catalog())
    if fmt is Format.json:
        emit_json(df.astype(object).where(df.notna(), None).to_dict(orient="records"))
        return
    def score(r: object, m: str, fmt_: str) -> list[str]:
        v = getattr(r, m, None)
        if v is None or pd.isna(v):
            return ["–", ""]
        return [format(v, fmt_), f"{format(getattr(r, m + '_low'), fmt_)} to {format(getattr(r, m + '_high'), fmt_)}"]

    for level, part in df.groupby("level", sort=False):
        table(f"By {level.replace('_', ' ')}, weakest first (comments scored by `patron listen enrich`)",
              [level.replace("_", " "), "CSAT", "95% interval", "NPS", "95% interval", "CES", "comment sentiment",
               "complaints", "comments"],
              [[r.name, *score(r, "csat", ".0%"), *score(r, "nps", "+.1f"), score(r, "ces", ".2f")[0],
                "" if pd.isna(r.sentiment) else f"{r.sentiment:+.2f}",
                "" if pd.isna(r.complaint_share) else f"{r.complaint_share:.0%}", r.comments]
               for r in part.itertuples()], {"CSAT", "NPS", "CES", "comment sentiment", "complaints", "comments"})


keys_app = typer.Typer(help="API keys for `patron serve`: shown once, only their hash is kept.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


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
    out.print(f"API key [bold]{name}[/]: {key}", highlight=False, soft_wrap=True)
    out.print("Store it now: patron keeps only its hash and cannot show it again. "
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
    table("API keys", ["name", "starts with", "created", "revoked"],
          [[k["name"], k["prefix"], k["created_at"], k["revoked_at"]] for k in keys])


@keys_app.command("revoke")
def keys_revoke(name: str, config: ConfigOpt = Path("patron.yml"), db: DbOpt = None) -> None:
    """Stop a key working (takes effect when `patron serve` starts)."""
    from patron.api.keys import revoke_key

    with Project.open(config, db) as project:
        revoke_key(project.warehouse, name)
    out.print(f"Key {name!r} revoked.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None,
) -> None:
    """Serve the feedback API (POST /api/feedback, docs at /api/docs); needs a key from `patron keys create`."""
    import uvicorn

    from patron.api.app import create_app

    with Project.open(config, db) as project:
        api = create_app(project.warehouse)
        if not api.state.keys:
            raise PatronError("no active API key: create one with `patron keys create NAME` first")
        out.print(f"patron serving {project.db} on http://{host}:{port} (API docs at /api/docs); Ctrl-C stops it")
        uvicorn.run(api, host=host, port=port, log_level="warning")


customer_app = typer.Typer(help="One customer, everything known about it.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")


@customer_app.command("show")
def customer_show(
    query: Annotated[str, typer.Argument(help="Master id, any source's id, an email, or a name.")],
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """The customer 360: profile, source ids, contacts, MRR, scores by touchpoint, tickets, feedback."""
    from patron.cli.customer import render_360, render_matches
    from patron.report.customer360 import CustomerMatches

    with Project.open(config, db) as project:
        view = project.customer(query)
    if fmt is Format.json:
        emit_json(view.to_dict())
    elif isinstance(view, CustomerMatches):
        render_matches(view)
    else:
        render_360(view)
    if isinstance(view, CustomerMatches) and len(view.candidates) != 1:
        raise typer.Exit(0 if view.candidates else 1)


@app.command()
def quarantine(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    rows: Annotated[bool, typer.Option("--rows", help="List rejected rows instead of a summary.")] = False,
    limit: Annotated[int, typer.Option(help="With --rows: at most this many.")] = 50,
    config: ConfigOpt = Path("patron.yml"),
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show what was rejected and why."""
    with Project.open(config, db) as project:
        if rows:
            data = project.quarantine_rows(source, limit)
            if fmt is Format.json:
                emit_json(data)
            else:
                table("Quarantined rows", ["source", "file", "row", "field", "value", "reason"],
                      [[d["source"], d["file"], d["row"], d["field"], d["value"], d["reason"]] for d in data], {"row"})
            return
        summary = project.quarantine_summary(source)
    if fmt is Format.json:
        emit_json(as_dicts(summary))
    elif not summary:
        out.print("Quarantine is empty: every row read was loaded.")
    else:
        table("Quarantine", ["source", "table", "field", "reason", "rows", "first example"],
              [[s.source, s.table, s.field or "(line)", s.reason, s.rows,
                f"{s.example_file} row {s.example_row}: {s.example_value!r}"] for s in summary], {"rows"})


@app.command()
def status(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Rows in each canonical table, and when they were last loaded."""
    with Project.open(config, db) as project:
        data = project.status()
        where = str(project.db)
    if fmt is Format.json:
        emit_json({"warehouse": where, "tables": as_dicts(data)})
    else:
        table(f"Warehouse {where}", ["table", "rows", "sources", "last loaded"],
              [[s.table, s.rows, s.sources, s.last_loaded_at] for s in data], {"rows", "sources"})


@app.command()
def briefing(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Where to write the HTML.")] = Path("briefing.html"),
    config: ConfigOpt = Path("patron.yml"),
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write the briefing: one self-contained HTML file that opens with no network."""
    from patron.report import build, render_html

    with Project.open(config, db) as project:
        b = build(project.existing_warehouse(), project.catalog())
    out_file.write_text(render_html(b), encoding="utf-8")
    if fmt is Format.json:
        emit_json({"path": str(out_file), "briefing": b.to_dict()})
    else:
        out.print(f"Briefing written to [bold]{out_file}[/]")


@app.command()
def generate(
    customers: Annotated[int, typer.Option(min=1, help="How many customers.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same company.")] = 42,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for exports/, truth/ and patron.yml.")
    ] = Path("patron-demo"),
    as_of: Annotated[str | None, typer.Option(help="Last day of the data, YYYY-MM-DD (default: today).")] = None,
    usage_days: Annotated[int, typer.Option(min=1, help="Days of daily product usage.")] = 90,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write a realistic demo company's exports, a patron.yml that maps them, and the planted truth."""
    from patron.demo import generate as run

    day = _parse_day(as_of)
    t0 = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("generating customers", total=customers)
        result = _generate(run, customers, seed, out_dir, day, usage_days,
                           lambda done, total: bar.update(task, completed=done))
    if fmt is Format.json:
        emit_json(result.to_dict() | {"seconds": round(time.perf_counter() - t0, 2)})
        return
    table(f"Demo company: {customers:,} customers, seed {seed}, data through {result.as_of}",
          ["file", "rows"], [[k, v] for k, v in result.files.items()], {"rows"})
    out.print(f"Next: [bold]cd {out_dir} && patron ingest[/]")


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PatronError(f"--as-of: {text!r} is not a date (YYYY-MM-DD)") from None


def _generate(run, customers, seed, out_dir, day, usage_days, progress):
    try:
        return run(customers, seed, out_dir, as_of=day, usage_days=usage_days, progress=progress)
    except FileExistsError as e:
        raise PatronError(str(e)) from None


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=1, help="How many customers.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo project.")] = Path("patron-demo"),
    fmt: FormatOpt = Format.table,
) -> None:
    """Generate a company, load it, run every stage, and write briefing.html."""
    from patron.demo import generate as run
    from patron.report import build, render_html

    if directory.exists() and any(directory.iterdir()):
        raise PatronError(f"{directory}: is not empty; choose another --dir or remove it")
    t0 = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("generating the demo company", total=customers)
        _generate(run, customers, seed, directory, None, 90, lambda d, t: bar.update(task, completed=d))
    with Project.open(directory / "patron.yml", require_config=True) as project:
        with _progress() as bar:
            result = project.ingest(progress=_IngestBar(bar))
        identities = project.resolve_identities()
        with _progress() as bar:
            task = bar.add_task("scoring texts", total=None)
            scored = project.enrich(lambda done, total: bar.update(task, completed=done, total=total))
        themes, _ = project.themes()
        b = build(project.warehouse, project.catalog())
        db = project.db
    path = directory / "briefing.html"
    path.write_text(render_html(b), encoding="utf-8")
    seconds = time.perf_counter() - t0
    if fmt is Format.json:
        emit_json({"dir": str(directory), "warehouse": str(db), "briefing": str(path),
                   "ingest": result.to_dict()["totals"], "identity": identities.to_dict(),
                   "texts": scored.items, "themes": len([t for t in themes.themes if t.items]),
                   "unthemed_share": themes.unthemed_share, "spikes": len(b.spikes), "seconds": round(seconds, 1),
                   "headlines": [h.__dict__ for h in b.headlines]})
        return
    from patron.report.html import format_value, interval

    t = result.to_dict()["totals"]
    out.print(f"[bold]patron demo[/]: {customers:,} customers, {len(result.files)} files, "
              f"{t['read']:,} rows read, {t['loaded']:,} loaded, {t['quarantined']:,} quarantined "
              f"({seconds:.0f} s)")
    out.print(f"Identity: {identities.records:,} source records resolved to {identities.customers:,} customers")
    out.print(f"Listening: {scored.items:,} texts scored, {len([t for t in themes.themes if t.items])} themes "
              f"({themes.unthemed_share:.1%} without one), {len(b.spikes)} spikes in the last 30 days")
    month = next((h.period for h in b.headlines if h.period), "")
    table(f"Headline numbers, {month} (patron metrics show METRIC for more)", ["metric", "value", "95% interval", "n"],
          [[h.metric, format_value(h.value, h.unit), interval(h).removeprefix("95% CI "), h.n] for h in b.headlines],
          {"value", "n"})
    out.print(f"Briefing: [bold]{path.resolve()}[/]")
    out.print(f"Explore: [bold]cd {directory}[/] then [bold]patron status[/], [bold]patron quarantine[/]")


def run() -> None:
    """Entry point: the one place a PatronError becomes one line on stderr and exit code 1."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    as_json = any(a in ("--format=json", "-f=json") for a in sys.argv) or any(
        a in ("--format", "-f") and i + 1 < len(sys.argv) and sys.argv[i + 1] == "json"
        for i, a in enumerate(sys.argv))
    try:
        app()
    except PatronError as e:
        if debug:
            raise
        if as_json:
            sys.stderr.write(json.dumps({"error": str(e)}) + "\n")
        else:
            err.print(f"[red]error[/]: {e}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was half-loaded (each load is all or nothing)")
        sys.exit(130)
