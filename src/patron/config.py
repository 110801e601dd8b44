"""patron.yml as pydantic models. The loader reports every problem at once, each with its key."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from patron.errors import ConfigError
from patron.model import TABLES

FORMATS = ("csv", "parquet", "json", "jsonl")
ENCODINGS = ("utf-8", "utf-16", "latin-1")
EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]*")
# how a bool attribute's text reads (case aside; a number reads as 1 or 0)
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
# names that are personal data whatever patron.yml says: a word of the name, or a phrase in it
_PERSONAL_WORDS = frozenset({
    "surname", "surnames", "forename", "firstname", "lastname", "fullname", "email", "emails", "phone", "phones",
    "mobile", "telephone", "fax", "address", "street", "postcode", "zip", "zipcode", "postal", "dob", "birthday",
    "birthdate", "birth", "born", "dateofbirth", "birthdays", "birthdates", "ssn", "passport", "iban", "name",
    "names", "email1", "email2", "emails1", "emails2", "nachname", "vorname", "telefon", "telefonnummer", "nom",
    "prenom", "apellido", "nombre", "creditcard", "cardno", "nino"})
_PERSONAL_PHRASES = ("first_name", "last_name", "full_name", "given_name", "family_name", "middle_name", "e_mail",
                     "date_of_birth", "birth_date", "post_code", "zip_code", "national_id", "tax_id", "card_number",
                     "card_no", "credit_card", "social_security", "national_insurance", "birth_year", "year_of_birth")
# attribute names that would be read as something else: the golden record's dimensions (map them
# under columns:), and the names metric queries and their results use for their own columns (a
# slice by an attribute is a column of that name beside them); tests/test_attributes.py checks this
# list against the metrics' own
CUSTOMER_DIMENSIONS = ("segment", "region", "industry", "plan", "owner", "cohort_month")
METRIC_WORDS = frozenset({
    # results and keys
    "metric", "value", "n", "ci_low", "ci_high", "previous", "p_value", "significant", "note", "period", "month",
    "customer", "first_month", "first_period", "prev_mrr", "pro", "det", "good", "mean", "sd", "total", "q",
    # monthly revenue facts
    "mrr_end", "mrr_start", "new", "reactivation", "expansion", "contraction", "churn", "customers_start",
    "customers_end", "churned_customers", "new_customers", "reactivated_customers", "customers_active",
    "cohort_customers", "cohort_mrr_start", "cohort_mrr_now", "cohort_mrr_retained", "cohort_customers_retained",
    "renewals_due", "renewals_renewed", "renewal_mrr_due", "renewal_mrr_renewed",
    # order facts
    "revenue", "sales", "orders", "customers", "returning_customers", "repeat_customers", "cohort_revenue_now",
    "cohort_revenue_start"})


_THING_WORDS = frozenset({"plan", "product", "company", "account", "org", "organisation", "organization", "business",
                          "brand", "theme", "campaign", "segment", "tier", "feature", "file", "source", "team", "group",
                          "region", "country", "city", "industry", "sku", "item", "package", "vendor", "partner"})
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХаеорсуіѕјЕМ", "ABEKMHOPCTXaeopcyisjEM")


def looks_personal(name: str) -> bool:
    """Whether a name (an attribute's or a file column's: Surname, first_name, EmailAddress, DOB...)
    is obviously personal data."""
    # letters that only look Latin (Cyrillic е, а...) are folded to the Latin ones they mimic
    name = unicodedata.normalize("NFKC", name).translate(_LOOKALIKES)
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    norm = "_" + "_".join(w for w in re.split(r"[^a-z0-9]+", words) if w) + "_"
    words_in = set(norm.strip("_").split("_"))
    if words_in & _THING_WORDS:  # a plan's or a company's name is no person's
        words_in -= {"name", "names", "nom", "nombre"}
    return bool(words_in & _PERSONAL_WORDS) or any(f"_{p}_" in norm for p in _PERSONAL_PHRASES)


class AttributeConfig(_Strict):
    column: str | None = Field(None, description="The file's column that holds the value.")
    expression: str | None = Field(None, description="Or SQL over the file's columns, as a source's expressions.")
    type: Literal["text", "int", "float", "date", "bool"] = Field(
        "text", description="text, int, float, date (the source's date_format or ISO 8601) or bool (true/false, "
        "yes/no, y/n, 1/0).")
    personal: bool = Field(False, description="Personal data (a name, an email, a phone, an address...): kept, "
                           "never a slice or a model feature. Names that obviously are personal are personal "
                           "whatever this says.")
    values: dict[str, str] = Field(default_factory=dict, description="raw value -> the value kept, before typing")

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, v: object) -> object:
        # YAML reads yes, 1 or true as a bool or a number; the file's values are text
        def text(x: object) -> object:
            return str(x).lower() if isinstance(x, bool) else str(x) if isinstance(x, int | float) else x
        return {text(k): text(x) for k, x in v.items()} if isinstance(v, dict) else v

    def is_personal(self, name: str) -> bool:
        """Flagged, or named like personal data: the attribute, its column, or any column its expression reads
        (lower(Email) is an email still)."""
        if self.personal or looks_personal(name) or (self.column is not None and looks_personal(self.column)):
            return True
        if self.expression is None:
            return False
        from patron.expressions import columns_read

        return any(looks_personal(c) for c in columns_read(self.expression))


class SourceConfig(_Strict):
    path: str = Field(description="A file or a glob, relative to patron.yml.")
    table: str = Field(description="The canonical table the rows load into.")
    format: Literal["csv", "parquet", "json", "jsonl"] | None = None
    customer_ref: str | None = Field(None, description="The file's column holding the customer id.")
    columns: dict[str, str] = Field(default_factory=dict, description="canonical -> file column")
    key: list[str] | None = Field(None, description="Canonical columns that identify a row.")
    date_format: list[str] = Field(default_factory=list, description="strptime formats, tried in order.")
    values: dict[str, dict[str, str]] = Field(default_factory=dict, description="column -> {raw: canonical}")
    constants: dict[str, str] = Field(default_factory=dict, description="canonical column -> fixed value")
    encoding: str = "utf-8"
    delimiter: str | None = None
    max_line_size: int | None = Field(None, gt=0, description="The longest CSV line (bytes) the reader "
                                      "accepts (default 2,000,000): raise it for a file with very long fields.")
    system: str | None = Field(
        None, description="The system whose ids customer_ref holds (sources of one system share ids); "
        "default: the source's own name.")
    expressions: dict[str, str] = Field(
        default_factory=dict, description="canonical column -> an expression over the file's columns, e.g. "
        "amount: Quantity * UnitPrice (SQL: arithmetic, CASE, text and date functions).")
    filter: str | None = Field(None, description="Load only the rows where this expression over the file's "
                                                 "columns is true, e.g. NOT starts_with(InvoiceNo, 'C').")
    rollup: dict[str, Literal["first", "last", "sum", "min", "max", "count"]] | None = Field(
        None, description="Roll the file's rows up to one per key: canonical column -> first, last, sum, min, "
        "max or count (any column not named: first, its first non-empty value in file order).")
    max_reject_share: float | None = Field(
        None, gt=0, le=1, description="This source's own limit on rejected rows (default: "
        "ingest.max_reject_share).")
    snapshot_date: date | None = Field(
        None, description="The day the export was taken, for a file with no dates of its own; expressions use "
        "it as snapshot_date, e.g. start_date: snapshot_date - INTERVAL (tenure) MONTH.")
    attributes: dict[str, AttributeConfig] = Field(
        default_factory=dict, description="Customer attributes the canonical model does not name: attribute -> "
        "the file's column (a text attribute), or a mapping of column or expression, type, personal, values. "
        "Kept per customer (customer_ref), checked, with lineage; metrics slice by them.")

    @field_validator("attributes", mode="before")
    @classmethod
    def _short_form(cls, v: object) -> object:
        # `contract_type: Contract` keeps the column as a text attribute
        return {k: {"column": x} if isinstance(x, str) else x for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("rollup", mode="before")
    @classmethod
    def _rollup_on(cls, v: object) -> object:
        # `rollup: true` rolls up with every column's first value
        return {} if v is True else None if v is False else v

    @field_validator("date_format", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    def file_format(self, file: Path) -> str | None:
        return self.format or EXTENSIONS.get(file.suffix.lower()) or (
            EXTENSIONS.get(Path(file.stem).suffix.lower()) if file.suffix.lower() == ".gz" else None
        )

    def key_columns(self) -> tuple[str, ...]:
        return tuple(self.key) if self.key else TABLES[self.table].key


class IdentitySettings(_Strict):
    match_threshold: float = Field(0.9, gt=0, le=1, description="Link two records at this match probability.")
    review_below: float = Field(0.5, ge=0, le=1, description="Pairs from here up to match_threshold need review.")
    free_email_domains: list[str] = Field(
        default_factory=lambda: ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com",
                                 "aol.com", "proton.me", "protonmail.com", "gmx.de", "live.com"],
        description="Email domains that say nothing about the company.")
    trusted_sources: list[str] = Field(
        default_factory=list, description="Sources in order of trust for the golden record (default: "
        "the order of sources in this file).")
    survivorship: dict[str, Literal["most_trusted", "most_recent", "most_frequent", "earliest"]] = Field(
        default_factory=dict, description="customers column -> rule that picks the golden value "
        "(default: most_trusted; created_at: earliest).")


class JourneyStage(_Strict):
    stage: str
    touchpoints: list[str]


class TaxonomyTheme(_Strict):
    keywords: list[str] = Field(default_factory=list, description="Words or phrases: a text that contains "
                                "one belongs to the theme, before any discovered theme.")
    examples: list[str] = Field(default_factory=list, description="Texts like the ones the theme is about: "
                                "each names the discovered theme it falls into.")


def taxonomy_id(name: str) -> str:
    """The theme id of a taxonomy name: it stays the same as long as the name does."""
    return "tax:" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class ListenSettings(_Strict):
    taxonomy: dict[str, TaxonomyTheme] = Field(
        default_factory=dict, description="Your own theme names -> keywords (a list), or keywords and/or "
        "examples (a mapping).")

    @field_validator("taxonomy", mode="before")
    @classmethod
    def _keyword_lists(cls, v: object) -> object:
        # the short form `Name: [word, phrase]` lists keywords
        if not isinstance(v, dict):
            return v
        out = {}
        for name, entry in v.items():
            if isinstance(entry, str):
                raise ValueError(f"{name}: give a list of keywords ([{entry}]) or a mapping with keywords "
                                 "and/or examples, not a single string")
            out[name] = {"keywords": entry} if isinstance(entry, list | tuple) else entry
        return out

    @field_validator("taxonomy")
    @classmethod
    def _named_and_not_empty(cls, v: dict[str, TaxonomyTheme]) -> dict[str, TaxonomyTheme]:
        empty = [name for name, t in v.items() if not [w for w in t.keywords + t.examples if w.strip()]]
        if empty:
            raise ValueError(f"themes without keywords or examples: {', '.join(empty)}")
        ids: dict[str, str] = {}
        for name in v:
            if taxonomy_id(name) == "tax:":
                raise ValueError(f"{name!r}: a theme name needs a letter or a digit")
            if taxonomy_id(name) in ids:
                raise ValueError(f"{ids[taxonomy_id(name)]!r} and {name!r} differ only in case or punctuation; "
                                 "give them different names")
            ids[taxonomy_id(name)] = name
        return v


def taxonomy(entries: Mapping[str, object] | None) -> dict[str, TaxonomyTheme]:
    """Taxonomy entries given in code (a list of keywords, a mapping, or patron.yml's model),
    checked as patron.yml's are."""
    try:
        return ListenSettings(taxonomy=dict(entries or {})).taxonomy
    except ValidationError as e:
        raise ConfigError("; ".join(_pydantic_problems(e))) from None


class SparkWarehouse(_Strict):
    """A warehouse on Apache Spark: its tables as Parquet under `path`, read by the session at `master`."""

    engine: Literal["spark"] = Field(description="spark (a warehouse: file name is DuckDB's).")
    path: str = Field(min_length=1, max_length=2_000, description="Where the tables lie: a folder, or any URL "
                      "Spark reads (hdfs://, s3a://...), as `patron export --engine spark --to` writes them.")
    master: str = Field("local[2]", min_length=1, max_length=500, description="The Spark master URL: local[N] on "
                        "this machine, spark://host:7077, yarn...")

    @field_validator("path", "master")
    @classmethod
    def _no_control(cls, v: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in v) or "'" in v or "\\" in v:
            raise ValueError(f"{v[:80]!r} holds a control character, a quote or a backslash")
        return v

    def located(self, root: Path) -> str:
        """`path` as Spark must be given it: a folder on this machine relative to patron.yml's
        folder (as every path in it), made absolute; a URL (hdfs://, s3a://, file:...) as written.
        (Spark would read a relative folder against its own working folder, not ours.)"""
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", self.path):
            return self.path
        return str((root / self.path).resolve())


class IngestSettings(_Strict):
    future_tolerance_days: int = Field(1, ge=0, description="How far ahead a date may be.")
    max_reject_share: float = Field(
        0.5, gt=0, le=1, description="A source whose file rejects more than this share of its rows is not "
        "loaded (nothing of it), and ingest fails naming the most common problems; 1 loads whatever passes.")


class ApiSettings(_Strict):
    cors_origins: list[str] = Field(
        default_factory=list, description="Web origins whose pages may call the API, such as your feedback "
                                          "widget's site (https://www.example.com); none by default.")
    openapi: bool = Field(False, description="Serve the API's schema at /api/openapi.json.")
    docs: bool = Field(False, description="Serve a reference page of the API at /api/docs (patron's own "
                                          "page: no script, nothing loaded from elsewhere).")
    requests_per_second: float = Field(50, gt=0, description="Requests a key may send a second (bursts of "
                                                             "twice that); more get 429.")
    items_per_minute: int = Field(60_000, ge=1_000, description="Items a key may send a minute (at least one "
                                                               "full batch of 1,000); more get 429.")

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path, no wildcard)")
        return v


class ChurnSettings(_Strict):
    horizon_months: int = Field(3, ge=1, le=24, description="A customer churned when it pays nothing this many "
                                                            "months after the snapshot.")
    snapshots: int = Field(12, ge=1, le=60, description="The most month-end snapshots a model learns from.")
    outcome: str | None = Field(None, description="For an export with a churn flag and no history (one "
                                                  "snapshot): the attribute that says the customer left.")
    attributes: list[str] = Field(
        default_factory=list, description="Customer attributes that do not change over time (an industry code, a "
        "country) to learn from at every month-end snapshot. Only their current value is kept, so one that "
        "changes (a plan, a status) would show the model the future: none is used unless named here.")
    training_rows: int = Field(
        300_000, ge=1_000, le=100_000_000, description="The most customer-snapshots a model learns from. Beyond it, "
        "a random sample of customers (with every snapshot of each) is learned from: a churn model learns as well "
        "from a few hundred thousand rows, and more costs time and memory, not accuracy. Every customer is still "
        "tested and scored.")
    high: float = Field(0.25, gt=0, lt=1, description="A probability from here up is high risk.")
    medium: float = Field(0.1, gt=0, lt=1, description="From here up to high is medium risk.")

    @field_validator("attributes")
    @classmethod
    def _each_once(cls, v: list[str]) -> list[str]:
        twice = sorted({a for a in v if v.count(a) > 1})
        if twice:
            raise ValueError(f"{', '.join(map(repr, twice))} listed more than once; name each attribute once")
        return v

    @model_validator(mode="after")
    def _bands_in_order(self) -> ChurnSettings:
        if self.medium >= self.high:
            raise ValueError(f"medium ({self.medium}) must be below high ({self.high})")
        return self


HEALTH_COMPONENTS = ("usage_trend", "usage_level", "usage_breadth", "support_load", "ticket_sentiment", "nps", "csat",
                     "billing", "engagement")


class HealthSettings(_Strict):
    weights: dict[str, float] = Field(
        default_factory=lambda: {"usage_trend": 15, "usage_level": 15, "usage_breadth": 5, "support_load": 15,
                                 "ticket_sentiment": 10, "nps": 15, "csat": 10, "billing": 10, "engagement": 5},
        description="component -> its weight (any scale; a component an account has no data for is left out and "
                    "the others share its weight). Components: " + ", ".join(HEALTH_COMPONENTS) + ".")
    red: float = Field(40, ge=0, le=100, description="A score below this is red.")
    green: float = Field(70, ge=0, le=100, description="A score from this up is green; between red and green, amber.")

    @field_validator("weights")
    @classmethod
    def _known_and_positive(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = [k for k in v if k not in HEALTH_COMPONENTS]
        if unknown:
            raise ValueError(f"no health component {', '.join(map(repr, unknown))}; components are: "
                             f"{', '.join(HEALTH_COMPONENTS)}")
        bad = [k for k, w in v.items() if not 0 <= w <= 1e6]
        if bad:
            raise ValueError(f"weights must be from 0 to 1,000,000: {', '.join(bad)}")
        if not sum(v.values()) > 0:
            raise ValueError("at least one weight must be above zero")
        return v

    @model_validator(mode="after")
    def _bands_in_order(self) -> HealthSettings:
        if self.red >= self.green:
            raise ValueError(f"red ({self.red}) must be below green ({self.green})")
        return self


class ClvSettings(_Strict):
    margin: float = Field(1.0, gt=0, le=1, description="The share of revenue that is profit (gross margin); 1 "
                                                       "values revenue.")
    annual_discount: float = Field(0.1, ge=0, lt=1, description="The yearly rate future money is discounted at.")
    horizon_months: int = Field(12, ge=1, le=120, description="How far ahead buying customers (orders) are "
                                                             "valued.")
    lifetime_cap_months: int = Field(120, ge=12, le=600, description="The longest a subscriber is assumed to stay.")


class PredictSettings(_Strict):
    churn: ChurnSettings = Field(default_factory=ChurnSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    clv: ClvSettings = Field(default_factory=ClvSettings)


_PLAY_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


class PlayConfig(_Strict):
    """A rule that turns a signal into an action item someone owns."""

    label: str | None = Field(None, max_length=200, description="The play's name as a person reads it.")
    subject: Literal["customer", "response", "alert"] = Field(
        "customer", description="What the condition is about: each paying customer's state (customer), each "
        "survey answer (response) or each spike alert (alert).")
    when: str = Field(max_length=2_000, description="The condition, SQL over the subject's fields "
                      "(`patron actions fields` lists them).")
    action: str = Field(min_length=1, max_length=500, description="What to do: the item's title.")
    owner: str | None = Field(None, max_length=200, description="Who does it; with owner_from, who does it where "
                              "that field is empty.")
    owner_from: str | None = Field(None, description="The field that names who does it, e.g. owner (the account "
                                   "owner).")
    due_days: float = Field(7, gt=0, le=365, description="Days from creation to due (2 is 48 hours).")
    priority: Literal["high", "medium", "low"] = "medium"
    holdout: float = Field(0, ge=0, le=0.5, description="The share of eligible customers deliberately left "
                           "untreated, drawn at random once per customer and kept, to measure whether the "
                           "play works (0 to 0.5).")
    within_days: int = Field(30, ge=1, le=3_650, description="For responses and alerts: only those of the last "
                             "this many days of data.")

    @field_validator("when", mode="before")
    @classmethod
    def _text(cls, v: object) -> object:
        if isinstance(v, bool):  # YAML reads `when: no` (yes, on, off, true, false) as a yes-or-no value
            raise ValueError(f"YAML read it as {str(v).lower()}, not a condition: put the condition in quotes, "
                             "or write SQL over the subject's fields, e.g. arr >= 10000")
        if not isinstance(v, str):  # YAML reads `when: 1` as a number
            raise ValueError(f"is {v!r}, not a condition: write SQL over the subject's fields, e.g. arr >= 10000 "
                             "(`patron actions fields` lists what it may read)")
        return v

    @field_validator("when")
    @classmethod
    def _a_condition(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("is empty: a play needs a condition, e.g. health_band = 'red' (`patron actions fields` "
                             "lists what it may read)")
        return v

    @model_validator(mode="after")
    def _an_owner(self) -> PlayConfig:
        if self.owner is None and self.owner_from is None:
            raise ValueError("needs an owner (a person) or owner_from (a field naming one), or both")
        if self.owner_from is not None and (self.owner is None or not self.owner.strip()):
            raise ValueError(f"owner_from {self.owner_from!r} needs an owner too: who does it where that field is "
                             "empty (an item nobody owns is nobody's work)")
        return self


class ProjectConfig(_Strict):
    # a DuckDB file's name (the default engine), or a `engine: spark` section
    warehouse: str | SparkWarehouse = "patron.duckdb"

    @field_validator("warehouse")
    @classmethod
    def _a_file_name(cls, v: str | SparkWarehouse) -> str | SparkWarehouse:
        if isinstance(v, str) and (not v.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in v)):
            raise ValueError(f"{v!r} is not a file name (empty, or holds a control character)")
        return v
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    journey: list[JourneyStage] = Field(default_factory=list)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    listen: ListenSettings = Field(default_factory=ListenSettings)
    predict: PredictSettings = Field(default_factory=PredictSettings)
    metrics: dict[str, dict] = Field(
        default_factory=dict, description="metric name -> owner, target, or any field of a definition")
    plays: dict[str, PlayConfig] = Field(
        default_factory=dict, description="play name -> the rule that turns a signal into an action item")

    # where the file lives; paths inside are relative to it
    root: Path = Field(default=Path("."), exclude=True)

    def systems(self) -> dict[str, str]:
        """source name -> the system whose customer ids it carries."""
        return {name: src.system or name for name, src in self.sources.items()}

    def touchpoint_stage(self) -> dict[str, str]:
        return {tp: s.stage for s in self.journey for tp in s.touchpoints}


def source_problems(name: str, src: SourceConfig) -> list[str]:
    """Every mapping problem of one source, each naming its key."""
    out: list[str] = []
    at = f"sources.{name}"
    if src.table not in TABLES:
        return [f"{at}.table: unknown table {src.table!r}; tables are: {', '.join(TABLES)}"]
    names = TABLES[src.table].names
    for section in ("columns", "values", "constants", "expressions"):
        for col in getattr(src, section):
            if col not in names:
                out.append(
                    f"{at}.{section}.{col}: {src.table} has no column {col!r}; "
                    f"its columns are: {', '.join(names)}"
                )
    for section in ("columns", "constants", "expressions"):
        if "customer_id" in getattr(src, section):
            out.append(f"{at}.{section}.customer_id: customer_id is set by identity resolution; "
                       "map the source's own id to customer_ref")
    if src.customer_ref is not None:
        if "customer_ref" not in names:
            out.append(f"{at}.customer_ref: table {src.table} has no customer_ref")
        elif "customer_ref" in src.columns:
            out.append(f"{at}.customer_ref: given twice (also under columns)")
    for col in src.key or ():
        if col not in names:
            out.append(f"{at}.key: {src.table} has no column {col!r}")
    out += _shaping_problems(at, src)
    out += _attribute_problems(at, src)
    for fmt in src.date_format:
        if "%" not in fmt:
            out.append(f"{at}.date_format: {fmt!r} is not a strptime format (e.g. '%d/%m/%Y')")
    if src.encoding.lower() not in ENCODINGS:
        out.append(f"{at}.encoding: {src.encoding!r} is not supported; use one of {', '.join(ENCODINGS)}")
    if src.format is None and Path(src.path).suffix.lower() not in (*EXTENSIONS, ".gz", ""):
        out.append(f"{at}.format: cannot tell the format of {src.path!r}; set format: {'|'.join(FORMATS)}")
    return out


def _shaping_problems(at: str, src: SourceConfig) -> list[str]:
    """Expressions, filter and roll-up: each checked against the allow-list and the table."""
    from patron.expressions import refused

    out: list[str] = []
    table = TABLES[src.table]
    elsewhere = {**{c: "columns" for c in src.columns}, **{c: "constants" for c in src.constants}}
    if src.customer_ref:
        elsewhere["customer_ref"] = "customer_ref"
    for col, expr in src.expressions.items():
        if col in elsewhere:
            out.append(f"{at}.expressions.{col}: also given under {elsewhere[col]}; give it once")
        out += [f"{at}.expressions.{col}: {p}" for p in refused(expr, None, aggregates=False, where="in a source")]
    if src.filter is not None:
        out += [f"{at}.filter: {p}" for p in refused(src.filter, None, aggregates=False, where="in a source")]
    if src.rollup is not None:
        key = src.key_columns()
        for col, how in src.rollup.items():
            if col not in table.names:
                out.append(f"{at}.rollup.{col}: {src.table} has no column {col!r}")
            elif col in key:
                out.append(f"{at}.rollup.{col}: a key column; the rows are rolled up by it ({', '.join(key)})")
            elif how in ("sum", "count") and table.column(col).type not in ("int", "float"):
                out.append(f"{at}.rollup.{col}: {how} needs a number column; {col} is {table.column(col).type}")
    return out


def _attribute_problems(at: str, src: SourceConfig) -> list[str]:
    """Each attribute: its name, where its value comes from, its value map; and a customer to keep it for."""
    from patron.expressions import refused

    if not src.attributes:
        return []
    out: list[str] = []
    if "customer_ref" not in TABLES[src.table].names:
        out.append(f"{at}.attributes: {src.table} rows belong to no customer (no customer_ref); give attributes on "
                   "a source of customers, subscriptions, orders...")
    elif not (src.customer_ref or "customer_ref" in src.expressions):
        out.append(f"{at}.attributes: attributes are kept per customer; set customer_ref: (the file's column "
                   "holding the customer id)")
    canonical = {c for t in TABLES.values() for c in t.names} | {"source", "source_key", "source_row", "load_id",
                                                                 "loaded_at"}
    for name, attr in src.attributes.items():
        key = f"{at}.attributes.{name}"
        if not _ATTRIBUTE_NAME.fullmatch(name):
            out.append(f"{key}: an attribute's name is lower-case letters, digits and _, starting with a letter "
                       "(e.g. contract_type)")
        elif name in CUSTOMER_DIMENSIONS:
            out.append(f"{key}: {name} is a customer dimension of the golden record; map it under columns: "
                       f"({name}: {attr.column or 'Column'}) where the table has it")
        elif name in canonical:
            out.append(f"{key}: {name!r} is a column of the canonical tables; give the attribute a name of its own "
                       f"(e.g. {at.rsplit('.', 1)[-1]}_{name})")
        elif name in METRIC_WORDS:
            out.append(f"{key}: {name!r} names a column of metric results; give the attribute a name of its own")
        if (attr.column is None) == (attr.expression is None):
            out.append(f"{key}: give a column or an expression (one of them)")
        if attr.expression is not None:
            out += [f"{key}.expression: {p}" for p in refused(attr.expression, None, aggregates=False,
                                                               where="in a source")]
        for raw, kept in attr.values.items():
            bad = _attribute_value_problem(attr.type, kept)
            if bad:
                out.append(f"{key}.values.{raw}: {bad}")
    return out


def _attribute_value_problem(kind: str, text: str) -> str | None:
    """Why a value a value map gives is not of its attribute's type."""
    word = text.strip().lower()
    if kind == "bool" and word not in TRUE_WORDS + FALSE_WORDS:
        return f"{text!r} is not true or false (a bool attribute's values are true/false, yes/no, y/n or 1/0)"
    if kind in ("int", "float"):
        try:
            number = float(word)
        except ValueError:
            return f"{text!r} is not a number"
        if kind == "int" and number != round(number):
            return f"{text!r} is not a whole number"
    return None


def attribute_clashes(sources: Mapping[str, SourceConfig]) -> list[str]:
    """Sources may give the same attribute, of one type: the golden value is then the most trusted source's."""
    first: dict[str, tuple[str, str]] = {}
    out = []
    for source, src in sources.items():
        for name, attr in src.attributes.items():
            seen = first.setdefault(name, (source, attr.type))
            if seen[1] != attr.type:
                out.append(f"sources.{source}.attributes.{name}.type: {attr.type}, but sources.{seen[0]}.attributes."
                           f"{name} is {seen[1]}; an attribute has one type (or give it another name here)")
    return out


def declared_attributes(cfg: ProjectConfig | None) -> dict[str, bool]:
    """Every attribute patron.yml declares -> whether it is personal (in any source)."""
    out: dict[str, bool] = {}
    for src in (cfg.sources.values() if cfg else ()):
        for name, attr in src.attributes.items():
            out[name] = out.get(name, False) or attr.is_personal(name)
    return out


def project_problems(cfg: ProjectConfig) -> list[str]:
    out = [p for name, src in cfg.sources.items() for p in source_problems(name, src)]
    out += attribute_clashes(cfg.sources)
    for s in cfg.identity.trusted_sources:
        if s not in cfg.sources:
            out.append(f"identity.trusted_sources: no source named {s!r}")
    for col in cfg.identity.survivorship:
        if col not in TABLES["customers"].names or col in ("customer_id", "customer_ref"):
            out.append(f"identity.survivorship.{col}: not a customers column with a golden value")
    out += [f"plays.{name}: a play's name is lower-case letters, digits and _ (it names items), not {name!r}"
            for name in cfg.plays if not _PLAY_NAME.fullmatch(name)]
    seen: dict[str, str] = {}
    for stage in cfg.journey:
        for tp in stage.touchpoints:
            if tp in seen:
                out.append(f"journey: touchpoint {tp!r} is in both {seen[tp]!r} and {stage.stage!r}")
            seen[tp] = stage.stage
    return out


def _keys() -> set[str]:
    """Every key patron.yml may hold, at any level (to suggest the one a typo meant)."""
    models = [ProjectConfig, SourceConfig, AttributeConfig, IdentitySettings, JourneyStage, TaxonomyTheme,
              ListenSettings, IngestSettings, ApiSettings, PredictSettings, ChurnSettings, HealthSettings, ClvSettings,
              PlayConfig]
    return {name for m in models for name in m.model_fields if name != "root"}


def _pydantic_problems(e: ValidationError) -> list[str]:
    import difflib

    out = []
    for err in e.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            near = difflib.get_close_matches(str(err["loc"][-1]), sorted(_keys()), n=1, cutoff=0.7)
            msg = f"unknown key — did you mean {near[0]!r}?" if near else "unknown key (typo?)"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{key}: {msg}")
    return out


def parse_project(data: object, file: str = "patron.yml", root: Path | None = None) -> ProjectConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the file must hold a mapping of keys (warehouse, sources, journey...)", file)
    try:
        cfg = ProjectConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigProblems(file, _pydantic_problems(e)) from None
    cfg.root = root or Path(".")
    problems = project_problems(cfg)
    if problems:
        raise ConfigProblems(file, problems)
    return cfg


def load_project(path: str | Path) -> ProjectConfig:
    """Read and check patron.yml; every problem is reported in one ConfigProblems."""
    p = Path(path)
    if not p.exists():
        raise ConfigError("not found; run `patron init` to write one", str(p))
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", str(p)) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{where}invalid YAML ({problem})", str(p)) from None
    return parse_project(data, str(p), p.parent.resolve())


class ConfigProblems(ConfigError):
    """Several problems in one file, all reported together."""

    def __init__(self, file: str, problems: list[str]):
        self.problems = problems
        n = len(problems)
        super().__init__(f"{n} problem{'s' if n > 1 else ''}: " + "; ".join(problems), file)
