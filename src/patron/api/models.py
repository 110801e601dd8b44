"""Request models built from the canonical model, so the API checks what a file load checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from patron.model import TABLES

_TYPES: dict[str, Any] = {"text": str, "email": str, "domain": str, "int": int, "float": float, "date": date,
                          "timestamp": datetime}
# set by patron, never by a client
_SERVER_SIDE = {"customer_id"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _utc_and_no_blank(cls, v: Any, info: Any) -> Any:
        if isinstance(v, datetime) and v.tzinfo is not None:
            return v.astimezone(UTC).replace(tzinfo=None)
        if isinstance(v, str) and not v and cls.model_fields[info.field_name].is_required():
            raise ValueError("must not be empty")
        return v


def item_model(table: str, optional: tuple[str, ...] = ()) -> type[BaseModel]:
    """A pydantic model of one row of `table`: its required fields, types and ranges."""
    fields: dict[str, Any] = {}
    for c in TABLES[table].columns:
        if c.name in _SERVER_SIDE:
            continue
        typ: Any = Literal[c.allowed] if c.type == "enum" and c.allowed else _TYPES[c.type]
        required = c.required and c.name not in optional
        default = ... if required else None
        fields[c.name] = (typ if required else typ | None,
                          Field(default, description=c.description, ge=c.min, le=c.max))
    return create_model(f"{table.title()}Item", __base__=_Strict, **fields)


FeedbackItem = item_model("feedback", optional=("feedback_id", "received_at"))
