"""The tables each stage writes besides the canonical ones, declared once as data with their owner.

The warehouse creates, upgrades and checks these tables from the declarations alone. Stages talk
through the warehouse, so who may write a table is part of the contract: each stage writes only
its own. The canonical tables belong to ingest; identity sets only their `customer_id` (and that of
`customer_attributes`, ingest's too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from patron.model.tables import TABLES

Stage = Literal["warehouse", "ingest", "identity", "listen", "metrics", "predict", "act", "api"]
STAGES: tuple[Stage, ...] = ("warehouse", "ingest", "identity", "listen", "metrics", "predict", "act", "api")


@dataclass(frozen=True)
class SystemColumn:
    name: str
    sql_type: str  # the engine type as created: VARCHAR, BIGINT, UBIGINT, VARCHAR[]...
    description: str
    not_null: bool = False
    # came after the table first shipped: a file made before gets it when opened
    added: bool = False

    def __post_init__(self) -> None:
        if self.added and self.not_null:  # rows already there would have no value for it
            raise ValueError(f"column {self.name}: a column added to an existing table must allow NULL")


@dataclass(frozen=True)
class SystemTable:
    name: str
    owner: Stage
    description: str
    columns: tuple[SystemColumn, ...]
    # other stages that may set some of its columns: (stage, columns), as identity sets customer_id
    shared: tuple[tuple[Stage, tuple[str, ...]], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _req(name: str, sql_type: str, description: str) -> SystemColumn:
    return SystemColumn(name, sql_type, description, not_null=True)


def _opt(name: str, sql_type: str, description: str, added: bool = False) -> SystemColumn:
    return SystemColumn(name, sql_type, description, added=added)


_TABLES = (
    SystemTable("patron_schema", "warehouse", "the schema version of the file and the patron that wrote it; "
                "opening an older file upgrades it", (
        _req("version", "INTEGER", "The schema version the file was brought to."),
        _req("patron_version", "VARCHAR", "The patron release that brought it there."),
        _req("migrated_at", "TIMESTAMP", "When (UTC)."),
    )),
    SystemTable("loads", "ingest", "one row per file loaded: source, table, file, its SHA-256, when, and the "
                "counts read = loaded + quarantined + already loaded + filtered + rolled up (`rows_updated` counts "
                "loaded rows that replaced a changed row; `rows_filtered`: left out by the source's filter; "
                "`rows_rolled_up`: merged into another row of the same key)", (
        _req("load_id", "BIGINT", "The load's number, from the load_ids sequence."),
        _req("source", "VARCHAR", "The configured source loaded."),
        _req("table_name", "VARCHAR", "The canonical table it loaded into."),
        _req("file", "VARCHAR", "The file read."),
        _opt("file_sha256", "VARCHAR", "The file's SHA-256."),
        _req("started_at", "TIMESTAMP", "When the load began (UTC)."),
        _opt("finished_at", "TIMESTAMP", "When it finished (UTC); empty while running or after a failure."),
        _opt("rows_read", "BIGINT", "Rows read from the file."),
        _opt("rows_loaded", "BIGINT", "Rows written."),
        _opt("rows_updated", "BIGINT", "Of those, rows that replaced a changed row."),
        _opt("rows_quarantined", "BIGINT", "Rows turned away to the quarantine."),
        _opt("rows_already_loaded", "BIGINT", "Rows this source had already loaded unchanged."),
        _opt("rows_filtered", "BIGINT", "Rows the source's filter left out.", added=True),
        _opt("rows_rolled_up", "BIGINT", "Rows merged into another row of the same key.", added=True),
    )),
    SystemTable("quarantine", "ingest", "one row per problem of each rejected row: load, source, table, file, "
                "row_number, field, value, reason, and the whole raw record as JSON; `last_seen_load`: the last load "
                "of the file that found the problem again (a later load that did not has taken the row in: see "
                "`patron quarantine --all`)", (
        _req("load_id", "BIGINT", "The load that first found the problem."),
        _req("source", "VARCHAR", "The configured source."),
        _req("table_name", "VARCHAR", "The canonical table the row was meant for."),
        _req("file", "VARCHAR", "The file it came from."),
        _opt("row_number", "BIGINT", "The row's record number in the file (1 is the first data row)."),
        _opt("field", "VARCHAR", "The field at fault, where one is."),
        _opt("value", "VARCHAR", "The value at fault, as read."),
        _req("reason", "VARCHAR", "Why the row was turned away."),
        _opt("record", "VARCHAR", "The whole raw record as JSON."),
        _opt("record_hash", "UBIGINT", "Hash of the record, to know the problem when a later load meets it again."),
        _req("quarantined_at", "TIMESTAMP", "When (UTC)."),
        _opt("last_seen_load", "BIGINT", "The last load of the file that found the problem again.", added=True),
    )),
    SystemTable("intake_progress", "ingest", "how far the loader has read each segment of the API's intake log, "
                "so a restart neither loses nor repeats a request", (
        _req("log", "VARCHAR", "The intake log: the canonical table it feeds."),
        _req("segment", "VARCHAR", "The log segment's file name."),
        _req("loaded_bytes", "BIGINT", "Bytes of the segment loaded so far."),
        _req("loaded_at", "TIMESTAMP", "When (UTC)."),
    )),
    SystemTable("customer_attributes", "ingest", "the attributes a source keeps for its customers (patron.yml's "
                "`attributes:`), one row per source, customer_ref and attribute: the checked value as text and typed, "
                "whether it is personal data, and the row it came from (of several rows per customer, the last in "
                "file order that gives a value); a load replaces the attributes of every customer its file holds, and "
                "each ingest drops the values patron.yml no longer declares (a source or an attribute taken out, "
                "an attribute's type changed)",
                (
        _req("source", "VARCHAR", "The configured source."),
        _req("customer_ref", "VARCHAR", "The customer's id in that source."),
        _opt("customer_id", "VARCHAR", "The master customer, set by identity resolution (at once for a customer "
             "identity already knows)."),
        _req("name", "VARCHAR", "The attribute's name in patron.yml."),
        _req("type", "VARCHAR", "text, int, float, date or bool."),
        _req("personal", "BOOLEAN", "Personal data (a name, an email, a phone...): never a slice or a model feature."),
        _req("value", "VARCHAR", "The checked value as text (a number, an ISO date, true or false)."),
        _opt("number", "DOUBLE", "The value of an int or float attribute."),
        _opt("day", "DATE", "The value of a date attribute."),
        _opt("flag", "BOOLEAN", "The value of a bool attribute."),
        _req("trust", "INTEGER", "The source's place in identity.trusted_sources (else in patron.yml's order of "
             "sources): of several sources' values for one customer, the most trusted is current."),
        _req("source_key", "VARCHAR", "The key of the row the value came from."),
        _req("source_row", "BIGINT", "That row's record number in its file (1 is the first data row)."),
        _req("load_id", "BIGINT", "The load that wrote the value."),
        _req("loaded_at", "TIMESTAMP", "When (UTC)."),
    ), shared=(("identity", ("customer_id",)),)),
    SystemTable("identity_map", "identity", "every source record (system, ref) with its master `customer_id` and "
                "how it was linked (`rule:domain`, `rule:email`, `rule:name` (same name, when the model could not be "
                "trained), `model`, `decision:merge`, `alone`, `nothing_to_match`)", (
        _req("system", "VARCHAR", "The system the record lives in (sources sharing ids share a system)."),
        _req("ref", "VARCHAR", "The record's customer_ref there."),
        _req("customer_id", "VARCHAR", "The master customer id."),
        _req("method", "VARCHAR", "How it was linked."),
        _req("resolved_at", "TIMESTAMP", "When (UTC)."),
    )),
    SystemTable("identity_moves", "identity", "every master id a resolution retired (its records merged into "
                "another customer) and the id they went to, so what was keyed by the old id can follow; never "
                "deleted", (
        _req("from_id", "VARCHAR", "The retired master id (or, at the first resolution, a source's own id)."),
        _req("to_id", "VARCHAR", "The master id its records went to (most of them, where they split)."),
        _req("moved_at", "TIMESTAMP", "When (UTC)."),
        _req("records", "BIGINT", "Its records that went there."),
    )),
    SystemTable("identity_links", "identity", "every scored pair of records (`system:ref`) with its method, match "
                "probability and whether it was linked", (
        _req("record_l", "VARCHAR", "One record, as system:ref."),
        _req("record_r", "VARCHAR", "The other record."),
        _req("method", "VARCHAR", "What scored the pair."),
        _req("match_probability", "DOUBLE", "The probability that both are one customer."),
        _req("linked", "BOOLEAN", "Whether they were put together."),
    )),
    SystemTable("customer_golden", "identity", "one row per master customer: each field chosen by its "
                "survivorship rule, the number of source records and the sources", (
        _req("customer_id", "VARCHAR", "The master customer id."),
        *(_opt(n, t, f"The customer's {n}, by its survivorship rule.") for n, t in (
            ("name", "VARCHAR"), ("domain", "VARCHAR"), ("segment", "VARCHAR"), ("region", "VARCHAR"),
            ("industry", "VARCHAR"), ("plan", "VARCHAR"), ("owner", "VARCHAR"), ("created_at", "DATE"),
            ("email", "VARCHAR"), ("phone", "VARCHAR"))),
        _req("records", "BIGINT", "Source records united in it."),
        _req("sources", "VARCHAR[]", "The sources they came from."),
        _req("built_at", "TIMESTAMP", "When (UTC)."),
    )),
    SystemTable("identity_decisions", "identity", "a person's merge or apart decision on two records; it wins on "
                "every later run", (
        _req("record_l", "VARCHAR", "One record, as system:ref."),
        _req("record_r", "VARCHAR", "The other record."),
        _req("decision", "VARCHAR", "merge or apart."),
        _opt("note", "VARCHAR", "Why, in the person's words."),
        _req("decided_at", "TIMESTAMP", "When (UTC)."),
    )),
    SystemTable("identity_sources", "identity", "the system whose customer ids each configured source carried at "
                "the last resolution: a source patron.yml moves to another system is resolved again, and its "
                "customers keep their master ids", (
        _req("source", "VARCHAR", "The source, as named in patron.yml."),
        _req("system", "VARCHAR", "The system its customer refs were read in."),
        _req("resolved_at", "TIMESTAMP", "When (UTC)."),
    )),
    SystemTable("identity_model", "identity", "the fitted linkage model (Splink's JSON settings with its m and u "
                "probabilities)", (
        _req("fitted_at", "TIMESTAMP", "When it was fitted (UTC)."),
        _req("model", "VARCHAR", "The settings and probabilities as JSON."),
    )),
    SystemTable("enrichment", "listen", "sentiment and complaint flag of every survey comment, ticket and "
                "feedback text, with the model that scored it", (
        _req("source_table", "VARCHAR", "The canonical table the text is in."),
        _req("item_id", "VARCHAR", "The row's id there."),
        _opt("customer_id", "VARCHAR", "The master customer, where known."),
        _opt("channel", "VARCHAR", "The channel it came by."),
        _opt("touchpoint", "VARCHAR", "The touchpoint a survey rated."),
        _opt("occurred_at", "TIMESTAMP", "When it was written (UTC)."),
        _opt("sentiment_score", "DOUBLE", "Sentiment from -1 to 1; empty when unscored."),
        _opt("sentiment_label", "VARCHAR", "negative, neutral or positive; empty when unscored."),
        _req("complaint", "BOOLEAN", "Whether it is a complaint."),
        _req("model", "VARCHAR", "The sentiment model and its version."),
        _req("enriched_at", "TIMESTAMP", "When (UTC)."),
        _opt("unscored", "VARCHAR", "Why the text has no sentiment (its language); else empty.", added=True),
    )),
    SystemTable("themes", "listen", "the themes found in the texts (or given by patron.yml's taxonomy), each "
                "kept under its id as it is found again", (
        _req("theme_id", "VARCHAR", "The theme's id, stable across runs."),
        _req("name", "VARCHAR", "Its name."),
        _req("terms", "VARCHAR", "Its weighted words as JSON."),
        _req("examples", "VARCHAR", "Typical texts as JSON."),
        _req("items", "BIGINT", "Texts in it now."),
        _req("first_seen_at", "TIMESTAMP", "When it was first found (UTC)."),
        _req("last_seen_at", "TIMESTAMP", "When it was last found (UTC)."),
        _opt("keywords", "VARCHAR", "The taxonomy's keywords as JSON, for a theme of patron.yml's.", added=True),
        _opt("top_words", "VARCHAR", "The line of top words under its name.", added=True),
    )),
    SystemTable("text_themes", "listen", "the theme each text is in, with its weight", (
        _req("source_table", "VARCHAR", "The canonical table the text is in."),
        _req("item_id", "VARCHAR", "The row's id there."),
        _req("theme_id", "VARCHAR", "Its theme."),
        _req("weight", "DOUBLE", "How strongly it belongs there."),
    )),
    SystemTable("alerts", "listen", "spikes in a theme's or channel's texts, and data problems in their history, "
                "each kept once by series and first day", (
        _req("series", "VARCHAR", "The theme or channel that moved."),
        _req("name", "VARCHAR", "What a person reads."),
        _req("first_day", "DATE", "First day of the spike."),
        _req("last_day", "DATE", "Last day of it so far."),
        _req("observed", "BIGINT", "Texts seen."),
        _req("expected", "DOUBLE", "Texts expected."),
        _req("p_value", "DOUBLE", "How surprising, under the usual volume."),
        _req("channels", "VARCHAR", "Where the texts came from (for a channel: their themes) as JSON."),
        _req("examples", "VARCHAR", "The texts that say it most, as JSON."),
        _req("raised_at", "TIMESTAMP", "When (UTC)."),
    )),
    SystemTable("metric_values", "metrics", "every metric evaluation: run, metric, slice (JSON), grain and period, "
                "value, n, 95% interval and the p-value of the change from the period before", (
        _req("run_id", "VARCHAR", "The evaluation run."),
        _req("evaluated_at", "TIMESTAMP", "When (UTC)."),
        _req("metric", "VARCHAR", "The metric's name in the catalog."),
        _req("slice", "VARCHAR", "The slice as JSON (empty object: everyone)."),
        _req("grain", "VARCHAR", "The period grain: month, quarter, year or all."),
        _opt("period", "DATE", "First day of the period."),
        _opt("value", "DOUBLE", "The value."),
        _req("n", "BIGINT", "Its base."),
        _opt("ci_low", "DOUBLE", "Lower end of the 95% interval."),
        _opt("ci_high", "DOUBLE", "Upper end."),
        _opt("p_value", "DOUBLE", "p-value of the change from the period before."),
    )),
    SystemTable("api_keys", "api", "the API's keys: only each key's hash and first characters are kept", (
        _req("name", "VARCHAR", "The key's name (it becomes the source name of what it sends)."),
        _req("key_hash", "VARCHAR", "SHA-256 of the key."),
        _req("prefix", "VARCHAR", "The key's first characters, to recognise it."),
        _req("created_at", "TIMESTAMP", "When (UTC)."),
        _opt("revoked_at", "TIMESTAMP", "When it was revoked (UTC); empty while active."),
    )),
    SystemTable("prediction_runs", "predict", "every run of a model: what it is (kind, version, settings), the "
                "day it scored, the snapshots it learned from and how well it did on one it never saw", (
        _req("run_id", "VARCHAR", "The run."),
        _req("model", "VARCHAR", "churn, health, clv, renewals or drivers."),
        _req("version", "VARCHAR", "patron's version and the model's own (e.g. lightgbm 4.7.0)."),
        _req("as_of", "DATE", "The day it scored: what it knew ended there."),
        _req("created_at", "TIMESTAMP", "When (UTC)."),
        _req("settings", "VARCHAR", "The settings and the fitted model's description, as JSON."),
        _opt("trained_on", "VARCHAR", "The snapshot days it learned from, as JSON."),
        _opt("tested_on", "DATE", "The later snapshot its evaluation is on."),
        _opt("evaluation", "VARCHAR", "Its figures on that snapshot (AUC, PR-AUC, lift, Brier, each with n "
             "and a 95% interval), as JSON."),
    )),
    SystemTable("predictions", "predict", "every score of every run, one row per customer and model", (
        _req("run_id", "VARCHAR", "The run that scored it."),
        _req("model", "VARCHAR", "churn, health, clv, renewals or drivers."),
        _req("customer_id", "VARCHAR", "The master customer (billing's id before identity is resolved)."),
        _req("as_of", "DATE", "The day scored."),
        _opt("score", "DOUBLE", "The probability (churn, renewal), 0-100 (health) or the value (clv)."),
        _opt("band", "VARCHAR", "red, amber or green (health); high, medium or low (risk)."),
        _opt("value", "DOUBLE", "What the customer is worth: ARR for risk, lifetime value for clv."),
        _opt("at_stake", "DOUBLE", "Value times probability of losing it."),
        _opt("reasons", "VARCHAR", "The top reasons in words with their features and weights, as JSON."),
        _opt("details", "VARCHAR", "The model's other figures for the customer, as JSON."),
    )),
    SystemTable("action_items", "act", "work a person owns: each created by a play from a signal, or added by "
                "a person; the plays never duplicate one nor re-open one a person closed", (
        _req("item_id", "VARCHAR", "The item (A-1, A-2...)."),
        _opt("play", "VARCHAR", "The play that created it; empty for one a person added."),
        _opt("customer_id", "VARCHAR", "The master customer it is about (empty for a theme's spike)."),
        _req("subject", "VARCHAR", "What it is about, as its play keys it (customer:ID, response:ID, alert:ID...)."),
        _req("signal", "VARCHAR", "What a person reads: the signal that created it."),
        _req("title", "VARCHAR", "What to do."),
        _opt("owner", "VARCHAR", "Who does it."),
        _req("priority", "VARCHAR", "high, medium or low."),
        _req("status", "VARCHAR", "open, in_progress, done or dismissed."),
        _opt("reason", "VARCHAR", "Why it was dismissed."),
        _opt("notes", "VARCHAR", "People's notes, newest last, as JSON."),
        _opt("due_at", "TIMESTAMP", "When it is due (UTC)."),
        _req("created_at", "TIMESTAMP", "When it was created (UTC)."),
        _req("created_by", "VARCHAR", "The play (play:NAME) or the person who added it."),
        _req("updated_at", "TIMESTAMP", "Its last change (UTC)."),
        _opt("first_action_at", "TIMESTAMP", "When a person first acted on it: a status change or a note (UTC)."),
        _opt("closed_at", "TIMESTAMP", "When it was done or dismissed (UTC)."),
        _opt("cleared_at", "TIMESTAMP", "When its play found the condition no longer held (UTC); empty while it "
             "holds."),
        _opt("signal_at", "TIMESTAMP", "When the signal happened (a response's time; the run's day for a customer's "
             "state)."),
        _opt("signal_score", "DOUBLE", "The survey score that created it (a response's), to compare the next with."),
        _opt("signal_survey", "VARCHAR", "That survey (nps, csat or ces)."),
        _opt("signal_sentiment", "DOUBLE", "The sentiment of the comment that created it (-1 to 1), where scored."),
        _opt("in_time", "BOOLEAN", "Whether a person first acted on it by its due time; empty while it is neither "
             "acted on nor due."),
        _opt("next_score", "DOUBLE", "The customer's next answer to the same survey after the item closed."),
        _opt("next_sentiment", "DOUBLE", "The sentiment of the customer's next text after the item closed (-1 to 1)."),
        _opt("overdue", "BOOLEAN", "Open (or in progress) past its due time, as of the last run of the plays or "
             "the item's last change.", added=True),
    )),
    SystemTable("action_history", "act", "every change of every action item: who, when, what (field, before, "
                "after); nothing is ever deleted from it", (
        _req("item_id", "VARCHAR", "The item."),
        _req("changed_at", "TIMESTAMP", "When (UTC)."),
        _req("changed_by", "VARCHAR", "Who: a person, or play:NAME for the plays."),
        _req("field", "VARCHAR", "What changed (created, status, owner, due_at, priority, note, cleared...)."),
        _opt("old_value", "VARCHAR", "Its value before."),
        _opt("new_value", "VARCHAR", "Its value after."),
    )),
    SystemTable("play_assignments", "act", "every customer a play found eligible, and whether it was treated or "
                "deliberately held out (a reproducible draw, kept so the uplift can be measured)", (
        _req("play", "VARCHAR", "The play."),
        _req("customer_id", "VARCHAR", "The customer."),
        _req("arm", "VARCHAR", "treated or holdout."),
        _req("assigned_at", "TIMESTAMP", "When it was first eligible (UTC)."),
        _req("as_of", "DATE", "The data's day when it was assigned."),
        _req("share", "DOUBLE", "The holdout share the play had then."),
        _opt("source", "VARCHAR", "Where the assignment came from: a plays run's id, or an imported file."),
        _opt("released_at", "TIMESTAMP", "When a held-out customer was released to be treated (its play's holdout "
             "set to 0); outcomes after it are not compared (UTC).", added=True),
    )),
    SystemTable("play_runs", "act", "every run of the plays: per play, how many signals it saw, and what it "
                "created, held out, left as it was and found cleared", (
        _req("run_id", "VARCHAR", "The run."),
        _req("ran_at", "TIMESTAMP", "When (UTC)."),
        _req("play", "VARCHAR", "The play."),
        _req("matched", "BIGINT", "Signals that met the condition."),
        _req("created", "BIGINT", "Items created."),
        _req("held_out", "BIGINT", "Signals left without an item because their customer is held out."),
        _req("unchanged", "BIGINT", "Signals whose item was already there."),
        _req("cleared", "BIGINT", "Items whose condition no longer held."),
        _opt("note", "VARCHAR", "Why the play did not run, where it did not."),
        _opt("inputs", "VARCHAR", "A signature of what the plays read; a run on the same inputs has nothing to do."),
    )),
)

SYSTEM_TABLES: dict[str, SystemTable] = {t.name: t for t in _TABLES}

# The tables the metric catalog may aggregate, with their columns: every canonical table, and the
# action items (for the closed loop's follow-through metrics).
METRIC_TABLES: dict[str, tuple[str, ...]] = {**{name: t.names for name, t in TABLES.items()},
                                             "action_items": SYSTEM_TABLES["action_items"].names}

# The canonical tables are ingest's; these stages may also set these columns of them.
CANONICAL_OWNER: Stage = "ingest"
CANONICAL_SHARED: dict[Stage, tuple[str, ...]] = {"identity": ("customer_id",)}


def writes(stage: Stage) -> dict[str, frozenset[str] | None]:
    """The tables `stage` may write: None where it owns the table, else the columns it may set."""
    out: dict[str, frozenset[str] | None] = {}
    for name in TABLES:
        if stage == CANONICAL_OWNER:
            out[name] = None
        elif shared := frozenset(CANONICAL_SHARED.get(stage, ())) & set(TABLES[name].names):
            out[name] = shared
    out.update({t.name: None for t in _TABLES if t.owner == stage})
    out.update({t.name: frozenset(cols) for t in _TABLES for who, cols in t.shared if who == stage})
    return out
