"""The canonical tables, declared once as data.

The warehouse DDL, the ingest validation and docs/data-model.md are all derived from these
declarations, so the three can never disagree. Column names are a contract: add, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

ColumnType = Literal["text", "int", "float", "date", "timestamp", "email", "enum", "domain"]

SQL_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "email": "VARCHAR",
    "enum": "VARCHAR",
    "domain": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


# The bounds of a plausible date, for file loads and the API alike: before EARLIEST is a typo, not
# history; a date past today by more than the configured tolerance is a clock or a format wrong.
EARLIEST = date(1900, 1, 1)
TOO_EARLY = f"implausible date (before {EARLIEST.year})"


def too_far_ahead(tolerance_days: int) -> str:
    return f"in the future (more than {tolerance_days} day{'s' if tolerance_days != 1 else ''} ahead)"


# The bounds of a plausible number, for file loads and the API alike: infinity or NaN breaks every
# sum and every JSON answer, and a magnitude past these is a unit or a format wrong, not a value.
# Money stops at a trillion; any other number (a count, an attribute) where a double stops holding
# whole numbers exactly.
MAX_MONEY = 1e12
MAX_NUMBER = 1e15
NOT_FINITE = "not a finite number (infinity or NaN)"


def too_large(bound: float) -> str:
    return f"too large (beyond ±{bound:,.0f})"


# The length of a text that is not free text (an id, a channel, an attribute's value), for file
# loads and the API alike; free text (a comment, a ticket's body) may be longer.
MAX_FIELD = 500
MAX_TEXT = 20_000


def too_long(limit: int) -> str:
    return f"longer than {limit:,} characters"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    required: bool = False
    unit: str | None = None
    allowed: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    future_ok: bool = False  # dates that are legitimately ahead (renewals, scheduled ends)

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def magnitude(self) -> float:
        """The largest plausible size of a number here: money's bound where the column is money."""
        return MAX_MONEY if (self.unit or "").startswith("currency") else MAX_NUMBER


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # (later, earlier): a row where later < earlier is rejected
    order_checks: tuple[tuple[str, str], ...] = ()
    # at least one of these must be present (empty: no such rule)
    any_of: tuple[str, ...] = ()
    # column whose allowed range depends on another column's value
    ranges_by: dict[str, tuple[str, dict[str, tuple[float, float]]]] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, type: ColumnType, description: str, **kw) -> Column:
    return Column(name, type, description, **kw)


_ref = _c("customer_ref", "text", "The customer's id as this source knows it.", required=True)
_ref_optional = _c("customer_ref", "text", "The customer's id as this source knows it (may be empty).")
_master = _c(
    "customer_id", "text",
    "Master customer id, set by identity resolution; a row of a customer it already knows gets it as it loads."
)
_currency = _c("currency", "text", "ISO 4217 currency code, e.g. USD.")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "customers",
            "One row per customer record as each source knows it (CRM account, billing customer, "
            "helpdesk organisation, product workspace). Identity resolution unites them.",
            (
                _master,
                _ref,
                _c("name", "text", "Company or customer name.", required=True),
                _c("domain", "domain", "Company web domain, e.g. acme.com (a URL is cut down to it)."),
                _c("segment", "text", "Commercial segment, e.g. smb, mid_market, enterprise."),
                _c("region", "text", "Sales region, e.g. north_america, emea, apac, latam."),
                _c("industry", "text", "Industry of the customer."),
                _c("plan", "text", "Current plan name."),
                _c("owner", "text", "Account owner (a person accountable for the account)."),
                _c("created_at", "date", "Date the record was created in the source."),
                _c("email", "email", "Main contact or billing email the source holds."),
                _c("phone", "text", "Main phone number the source holds."),
            ),
            key=("customer_ref",),
        ),
        Table(
            "contacts",
            "People at customers.",
            (
                _c("contact_id", "text", "The contact's id in the source.", required=True),
                _ref,
                _master,
                _c("name", "text", "Full name."),
                _c("email", "email", "Email address, stored lower-case."),
                _c("phone", "text", "Phone number as given."),
                _c("role", "text", "Job title or role, e.g. admin, champion, economic buyer."),
            ),
            key=("contact_id",),
        ),
        Table(
            "subscriptions",
            "One period of one price of one subscription. An upgrade or downgrade ends the row and "
            "starts a new one with the same subscription_id. MRR in a month is the sum of the rows "
            "active at its end.",
            (
                _c("subscription_id", "text", "The subscription's id in billing.", required=True),
                _ref,
                _master,
                _c("plan", "text", "Plan name for this period."),
                _c("mrr", "float", "Monthly recurring revenue of this period.", required=True,
                   unit="currency per month", min=0),
                _currency,
                _c("start_date", "date", "First day of this period.", required=True),
                _c("end_date", "date", "Day this period ended; empty while active.", future_ok=True),
                _c("term_months", "int", "Contract term in months (1 monthly, 12 annual).",
                   unit="months", min=1, max=120),
                _c("renewal_date", "date", "Next renewal date of the contract.", future_ok=True),
            ),
            key=("subscription_id", "start_date"),
            order_checks=(("end_date", "start_date"), ("renewal_date", "start_date")),
        ),
        Table(
            "orders",
            "One-off purchases: services, training, add-ons.",
            (
                _c("order_id", "text", "The order's id in the source.", required=True),
                _ref,
                _master,
                _c("ordered_at", "timestamp", "When the order was placed (UTC).", required=True),
                _c("amount", "float", "Order value; negative for credits.", required=True,
                   unit="currency"),
                _currency,
                _c("product", "text", "What was ordered, e.g. onboarding_package, training."),
                _c("category", "text", "Revenue category, e.g. services, license, add_on."),
            ),
            key=("order_id",),
        ),
        Table(
            "tickets",
            "Support tickets from the helpdesk.",
            (
                _c("ticket_id", "text", "The ticket's id in the helpdesk.", required=True),
                _ref_optional,
                _master,
                _c("contact_email", "email", "Requester's email, lower-case."),
                _c("opened_at", "timestamp", "When the ticket was opened (UTC).", required=True),
                _c("first_response_at", "timestamp", "First agent response (UTC); empty if none yet."),
                _c("resolved_at", "timestamp", "When it was resolved (UTC); empty while open."),
                _c("channel", "text", "Where it came in: email, chat, phone, web."),
                _c("priority", "text", "low, normal, high or urgent."),
                _c("category", "text", "The helpdesk's category."),
                _c("subject", "text", "Subject line."),
                _c("body", "text", "The customer's first message."),
                _c("csat", "int", "Satisfaction rating the requester gave, 1-5.", min=1, max=5),
            ),
            key=("ticket_id",),
            order_checks=(("first_response_at", "opened_at"), ("resolved_at", "opened_at")),
            any_of=("customer_ref", "contact_email"),
        ),
        Table(
            "responses",
            "Survey responses: NPS (0-10), CSAT (1-5), CES (1-7), with the touchpoint they rate.",
            (
                _c("response_id", "text", "The response's id in the survey tool.", required=True),
                _ref_optional,
                _master,
                _c("contact_email", "email", "Respondent's email, lower-case."),
                _c("survey", "enum", "Which survey: nps, csat or ces.", required=True,
                   allowed=("nps", "csat", "ces")),
                _c("score", "int", "The score: nps 0-10, csat 1-5, ces 1-7.", required=True,
                   unit="points"),
                _c("submitted_at", "timestamp", "When the response was submitted (UTC).",
                   required=True),
                _c("touchpoint", "text", "The touchpoint rated, as named in patron.yml's journey."),
                _c("journey_stage", "text", "The journey stage of the touchpoint."),
                _c("channel", "text", "How the survey was answered: email, in_app, web, phone."),
                _c("comment", "text", "The respondent's verbatim comment."),
            ),
            key=("response_id",),
            any_of=("customer_ref", "contact_email"),
            ranges_by={"score": ("survey", {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)})},
        ),
        Table(
            "feedback",
            "Unsolicited feedback from every listening pipe: web, social, reviews, the field.",
            (
                _c("feedback_id", "text", "The item's id in its source.", required=True),
                _ref_optional,
                _master,
                _c("author", "text", "Who wrote it: a name, handle or email."),
                _c("channel", "text", "web, social, review, field, email, call...", required=True),
                _c("received_at", "timestamp", "When it was written or received (UTC).",
                   required=True),
                _c("text", "text", "The feedback itself.", required=True),
                _c("rating", "int", "Star rating 1-5, where the channel has one.", min=1, max=5),
            ),
            key=("feedback_id",),
        ),
        Table(
            "usage",
            "Daily product usage per customer and feature.",
            (
                _ref,
                _master,
                _c("day", "date", "The day (UTC).", required=True),
                _c("feature", "text", "Product feature or area.", required=True),
                _c("events", "int", "Number of events that day.", required=True, min=0),
                _c("active_users", "int", "Distinct users active that day.", min=0),
            ),
            key=("customer_ref", "day", "feature"),
        ),
        Table(
            "costs",
            "Monthly cost per cost centre (support, success, services...), for margins.",
            (
                _c("month", "date", "First day of the month.", required=True),
                _c("cost_center", "text", "Cost centre, e.g. support, success, services.",
                   required=True),
                _c("amount", "float", "Cost in the month.", required=True, unit="currency", min=0),
                _currency,
            ),
            key=("month", "cost_center"),
        ),
        Table(
            "programs",
            "Who takes part in a loyalty, community, training or certification program: one row per "
            "customer (or one of its people) and program, from joining to leaving. A program run with a "
            "holdout lists the customers held out too (arm), so patron can measure its effect.",
            (
                _ref,
                _master,
                _c("program", "text", "The program, e.g. certification, community, loyalty.", required=True),
                _c("participant", "text", "Who takes part: a person's email or name, or `account` where the "
                   "account itself is the member (part of the row's key, so never empty).", required=True),
                _c("joined_at", "date", "The day they joined (for the holdout: the day they were held out).",
                   required=True),
                _c("left_at", "date", "The day they left (empty while they take part)."),
                _c("arm", "enum", "participant (empty: the same) or holdout: invited but deliberately not enrolled, "
                   "the comparison that makes a difference an effect rather than an association.",
                   allowed=("participant", "holdout")),
            ),
            key=("customer_ref", "program", "participant", "joined_at"),
            order_checks=(("left_at", "joined_at"),),
        ),
    )
}

# Every canonical row carries these, so any number traces back to a file and a row in it.
# (Kept few on purpose: each column on every row is paid for on every load.)
LINEAGE: tuple[Column, ...] = (
    _c("source", "text", "The configured source the row came from (a name in patron.yml)."),
    _c("source_key", "text", "The row's key in its source (key columns joined with '|')."),
    _c("source_row", "int", "The row's record number in that file (1 is the first data row)."),
    _c("load_id", "int", "The load that wrote the row; the loads table gives its file and counts."),
    _c("loaded_at", "timestamp", "When the row was loaded (UTC)."),
)


def table(name: str) -> Table:
    """The canonical table called `name`, or a KeyError listing the valid names."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no canonical table {name!r}; tables are: {', '.join(TABLES)}") from None
