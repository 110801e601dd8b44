"""Request models built from the canonical model, so the API checks what a file load checks."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, field_validator

from patron.model import EARLIEST, MAX_FIELD, MAX_TEXT, TABLES, TOO_EARLY

_TYPES: dict[str, Any] = {"text": str, "email": str, "domain": str, "int": int, "float": float, "date": date,
                          "timestamp": datetime}
# set by patron, never by a client
_SERVER_SIDE = {"customer_id"}


# MAX_TEXT: characters of a free text (what sentiment reads of it, too); MAX_FIELD: of any other
# field (an id, a channel, an author). The model holds both: file loads keep MAX_FIELD too.

# Free text keeps tabs and line breaks; control characters and the invisible marks that reorder
# or hide text (bidirectional overrides, zero-width joiners) are taken out of it. In any other
# field (ids, channels, names) such a character is refused: an id must read as it is stored.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
                        r"\u00ad\u034f\u061c\u115f\u1160\u180e\u206a-\u206f\u3164\uffa0\ufff9-\ufffb"
                        r"\U000e0000-\U000e007f]")
_FREE_TEXT = {"text", "body", "subject", "comment"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _utc_bounded_and_no_blank(cls, v: Any, info: Any) -> Any:
        if isinstance(v, datetime) and v.tzinfo is not None:
            try:
                v = v.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:  # year 1 or 9999 with an offset: no such instant
                raise ValueError(f"not a date patron can store (years {EARLIEST.year} to 9998)") from None
        if isinstance(v, datetime | date) and (v.date() if isinstance(v, datetime) else v) < EARLIEST:
            raise ValueError(TOO_EARLY)
        if isinstance(v, str):
            v = _bounded_text(v, info.field_name in _FREE_TEXT)
            if not v and cls.model_fields[info.field_name].is_required():
                raise ValueError("must not be empty")
            if not v and info.field_name.endswith("_id"):  # a blank id made anew would store a retry twice
                raise ValueError("must not be blank; leave it out and patron makes one")
        return v


def _bounded_text(v: str, free: bool) -> str:
    if free:
        if len(v) > MAX_TEXT:
            raise ValueError(f"is {len(v):,} characters long; at most {MAX_TEXT:,}")
        return _INVISIBLE.sub("", v).strip()
    if len(v) > MAX_FIELD:
        raise ValueError(f"is {len(v):,} characters long; at most {MAX_FIELD:,}")
    if bad := _INVISIBLE.search(v):
        raise ValueError(f"holds a control or invisible character (U+{ord(bad.group()):04X})")
    return v


# What a file load reads as a date or a time: ISO 8601 text. A number, or digits alone, would be
# read by pydantic as seconds since 1970 (`20200101` -> 1970-08-22): refused instead.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?")


def _iso_text(v: Any) -> Any:
    if not isinstance(v, str) or not _ISO.fullmatch(v.strip()):
        raise ValueError("not a date: give ISO 8601 text, such as 2026-01-31 or 2026-01-31T09:00:00Z")
    return v


def item_model(table: str, optional: tuple[str, ...] = ()) -> type[BaseModel]:
    """A pydantic model of one row of `table`: its required fields, types and ranges."""
    fields: dict[str, Any] = {}
    for c in TABLES[table].columns:
        if c.name in _SERVER_SIDE:
            continue
        typ: Any = Literal[c.allowed] if c.type == "enum" and c.allowed else _TYPES[c.type]
        if c.type in ("date", "timestamp"):
            typ = Annotated[typ, BeforeValidator(_iso_text)]
        required = c.required and c.name not in optional
        default = ... if required else None
        # numbers are JSON numbers (`true` is not a rating of 1), finite and of a plausible size, as
        # file loads keep them
        number = c.type in ("int", "float")
        bounds: dict[str, Any] = {"allow_inf_nan": False} if c.type == "float" else {}
        ge = c.min if c.min is not None else -c.magnitude if number else None
        le = c.max if c.max is not None else c.magnitude if number else None
        fields[c.name] = (typ if required else typ | None,
                          Field(default, description=c.description, ge=ge, le=le,
                                strict=True if number else None, **bounds))
    return create_model(f"{table.title()}Item", __base__=_Strict, **fields)


def too_far_ahead_field(table: str, item: BaseModel, now: datetime, tolerance_days: int) -> str | None:
    """The first date of `item` further ahead of `now` than file loads of `table` allow, if any."""
    limit = now + timedelta(days=tolerance_days)
    for c in TABLES[table].columns:
        v = getattr(item, c.name, None)
        if c.type in ("date", "timestamp") and not c.future_ok and v is not None \
                and (v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)) > limit:
            return c.name
    return None


FeedbackItem = item_model("feedback", optional=("feedback_id", "received_at"))
