"""`patron listen ...`: what customers say, scored, themed, trended and watched for spikes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import clip, counted, number, partial_note, period_label, shown_of
from patron.cli.metrics import records
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, NewestOpt, parse_day, progress
from patron.cli.render import Format, emit_json, out, say, table
from patron.project import Project

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

app = typer.Typer(help="What customers say: sentiment and complaints in every comment, ticket and "
                  "feedback item.", no_args_is_help=True)


def _signed(v: float | None, spec: str = "+.2f") -> str:
    return "" if v is None or v != v else format(v, spec)


def _no_texts(wh: Warehouse) -> str | None:
    """Why a listening table is empty when it is for want of texts: none loaded, or none scored yet
    (trends, spikes and themes' sentiment read the scores)."""
    from patron.relations import ALL_TEXTS

    texts = wh.scalar(f"SELECT count(*) FROM ({ALL_TEXTS})")
    if not texts:
        return ("No texts yet: patron listens to survey comments, ticket subjects and bodies, and feedback; "
                "load some with `patron ingest`.")
    if not wh.scalar("SELECT count(*) FROM enrichment"):
        return f"{counted(texts, 'text')}, none scored yet: run `patron listen enrich` first."
    return None


@app.command("enrich")
def listen_enrich(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Score the sentiment of every text not yet scored and flag complaints (offline model)."""
    with Project.open(config, db) as project, progress() as bar:
        task = bar.add_task("scoring texts", total=None)
        result = project.listen.enrich(lambda done, total: bar.update(task, completed=done, total=total))
        wh = project.existing_warehouse()
        summary = wh.rows(
            "SELECT source_table, count(*), avg(sentiment_score), count(*) FILTER (sentiment_label = 'negative'), "
            "count(*) FILTER (complaint), count(*) FILTER (unscored IS NOT NULL) FROM enrichment GROUP BY 1 ORDER BY 1")
        none = None if summary else _no_texts(wh)
    if fmt is Format.json:
        keys = ["table", "items", "mean_score", "negative", "complaints", "unscored"]
        emit_json(result.to_dict() | {"tables": [dict(zip(keys, r, strict=True)) for r in summary]})
        return
    if none:
        say(none, "yellow")
        return
    out.print(f"Scored {result.items:,} new texts in {result.seconds:.1f} s ({result.items_per_s:,.0f}/s) "
              f"with {result.model}", markup=False)
    # unscored: texts in a language the model cannot read, left out of the mean and the negatives
    table("Texts scored so far", ["table", "items", "mean sentiment", "negative", "complaints", "unscored"],
          [[t, n, _signed(m), neg, c, u] for t, n, m, neg, c, u in summary],
          {"items", "negative", "complaints", "unscored"})


@app.command("themes")
def listen_themes(
    k: Annotated[int | None, typer.Option("--themes", min=1, max=200,
                                          help="How many themes to fit (default: from the volume).")] = None,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Discover what customers write about; a theme found again keeps its id and name."""
    from patron.report.money import data_currency

    with Project.open(config, db) as project:
        result, df = project.listen.themes(k)
        currency = data_currency(project.warehouse)
    if fmt is Format.json:
        emit_json({"items": result.items, "unthemed": result.unthemed, "unthemed_share": result.unthemed_share,
                   "notes": result.notes, "too_few": result.too_few, "themes": records(df)})
        return
    if df.empty and result.too_few:  # an empty table would say nothing; this says what is missing
        say(result.too_few, "yellow")
        return
    # each theme's name over its top words; its two most typical texts
    table(f"{counted(len(df), 'theme')} in {counted(result.items, 'text')}; "
          f"{result.unthemed_share:.1%} without a theme "
          "(sentiment: mean from -1 to 1; ARR: of the customers raising it)",
          ["name", "texts", "share", "sentiment", "complaints", "customers", "ARR", "theme", "typical texts"],
          [["\n".join(filter(None, [r.name + (" (new)" if r.new else "") + (" (emerging)" if r.emerging else ""),
                                    r.top_words])), int(r.items),
            f"{r.share:.1%}", _signed(r.sentiment), int(r.complaints), int(r.customers),
            number(None if r.arr is None or r.arr != r.arr else r.arr, "currency", currency),
            r.theme_id, "\n".join(clip(e, 100) for e in r.examples[:2])] for r in df.itertuples()],
          {"texts", "share", "sentiment", "complaints", "customers", "ARR"},
          drop=["theme", "typical texts", "customers", "ARR"], lines=True)
    for note in result.notes:
        say(f"taxonomy: {note}", "yellow")
    if result.too_few:
        say(result.too_few, "yellow")


@app.command("trends")
def listen_trends(
    by: Annotated[str, typer.Option(help="theme, channel or touchpoint.")] = "theme",
    period: Annotated[str, typer.Option(help="day, week or month.")] = "week",
    since: Annotated[str | None, typer.Option(help="From this day on (YYYY-MM-DD).")] = None,
    limit: NewestOpt = 40,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Volume, share and sentiment per theme, channel or touchpoint and period, newest first."""
    from patron.listen.trends import trends

    with Project.open(config, db) as project:
        df = trends(project.existing_warehouse(), by, period, since)
        as_of = project.as_of()
        none = None if not df.empty else _no_texts(project.warehouse) or (
            f"No scored texts since {since}." if since else "No scored text has a date.")
    if fmt is Format.json:
        emit_json(records(df.assign(period=df["period"].astype(str).str[:10])))
        return
    if none:
        say(none, "yellow")
        return
    newest = df.sort_values(["period", "texts"], ascending=[False, False], kind="stable")
    shown = newest if limit == 0 else newest.head(limit)
    labels = [period_label(p, period, as_of) for p in shown["period"]]
    table(f"What customers write, by {by} and {period}, newest first",
          [by, period, "texts", "share", "sentiment", "negative", "complaints"],
          [[getattr(r, by), label, int(r.texts), f"{r.share:.1%}", _signed(r.sentiment),
            _signed(r.negative_share, ".0%"), int(r.complaints)]
           for r, label in zip(shown.itertuples(), labels, strict=True)],
          {"texts", "share", "sentiment", "negative", "complaints"},
          notes=[shown_of(len(shown), len(df), "--limit N for more (--limit 0: all), --since DAY for a window"),
                 partial_note(labels, period, as_of)])


@app.command("spikes")
def listen_spikes(
    since: Annotated[str | None, typer.Option(help="Only spikes from this day on (YYYY-MM-DD).")] = None,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Days when a theme's (or channel's) volume jumped far above its weekday-adjusted history; kept in `alerts`."""
    from patron.listen.spikes import detect, store

    start = parse_day(since, "--since")
    with Project.open(config, db) as project:
        alerts = detect(project.existing_warehouse(), start)
        store(project.warehouse, alerts)  # the alerts table keeps them for scripts and history
        none = None if alerts else _no_texts(project.warehouse) or _short_history(project.warehouse)
    if fmt is Format.json:
        emit_json([a.__dict__ | {"first_day": str(a.first_day), "last_day": str(a.last_day)} for a in alerts])
        return
    if none:
        say(none, "yellow")
        return
    for a in alerts:  # a load gone wrong first: it explains, and it is not a spike
        if a.kind == "data":
            say(f"{_days(a.first_day, a.last_day)}: {a.name}")
    spikes = [a for a in alerts if a.kind == "spike"]
    table(f"{counted(len(spikes), 'spike')} "
          "(negative binomial against the theme's last 28 days and the weekday; p < 0.0001)",
          ["theme", "days", "texts", "expected", "channels", "example"],
          [[a.name, _days(a.first_day, a.last_day), a.observed, f"{a.expected:,.1f}",
            ", ".join(f"{k} {v}" for k, v in list(a.channels.items())[:3]), clip(a.examples[0] if a.examples else "")]
           for a in spikes], {"texts", "expected"}, drop=["channels", "example", "expected"])


def _short_history(wh: Warehouse) -> str | None:
    """Why no day could be judged: the scored texts span too few days for a baseline."""
    from patron.listen.spikes import BASELINE_DAYS, MIN_HISTORY_DAYS

    n, span = wh.rows("SELECT count(*), datediff('day', min(occurred_at), max(occurred_at)) + 1 FROM enrichment "
                      "WHERE occurred_at IS NOT NULL")[0]
    if span and span > BASELINE_DAYS:
        return None
    return (f"{counted(n, 'scored text')} over {counted(span or 0, 'day')}; spikes need texts on more than "
            f"{BASELINE_DAYS} days (at least {MIN_HISTORY_DAYS} of the {BASELINE_DAYS} before the day judged).")


def _days(first: date, last: date) -> str:
    return str(first) if first == last else f"{first} to {last}"


@app.command("touchpoints")
def listen_touchpoints(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """NPS and comment sentiment per touchpoint and journey stage, weakest first."""
    from patron.report.touchpoints import ranking

    with Project.open(config, db) as project:
        df = ranking(project.existing_warehouse(), project.metrics.catalog())
    if fmt is Format.json:
        emit_json(records(df))
        return
    if df.empty:
        say("No survey responses with a touchpoint or journey stage yet: map touchpoint and journey_stage in a "
            "responses source (patron.yml) to rank them.", "yellow")
        return

    def score(r: object, m: str, spec: str) -> list[str]:
        v = getattr(r, m, None)
        if v is None or v != v:
            return ["–", ""]
        return [format(v, spec), f"{format(getattr(r, m + '_low'), spec)} to {format(getattr(r, m + '_high'), spec)}"]

    numbers = ["CSAT", "NPS", "CES", "sentiment", "complaints", "comments"]
    for level, part in df.groupby("level", sort=False):
        table(f"By {level.replace('_', ' ')}, weakest first",
              [level.replace("_", " "), "CSAT", "CSAT interval", "NPS", "NPS interval", "CES", "sentiment",
               "complaints", "comments"],
              [[r.name, *score(r, "csat", ".0%"), *score(r, "nps", "+.1f"), score(r, "ces", ".2f")[0],
                _signed(r.sentiment), "" if r.complaint_share != r.complaint_share else f"{r.complaint_share:.0%}",
                r.comments] for r in part.itertuples()],
              set(numbers), drop=["NPS interval", "CSAT interval", "complaints"])
    say("Intervals are 95%. sentiment: the mean of the comments left there (-1 to 1), scored by "
        "`patron listen enrich`; complaints: their share that are complaints.", "dim")
