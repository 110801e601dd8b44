"""What the API takes as a date, an id or a channel is what a file load takes: ISO 8601 text for
dates (never seconds since 1970), ids that read as they are stored."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from patron.api.models import FeedbackItem


def _item(**fields):
    return FeedbackItem.model_validate({"channel": "web", "text": "fine", **fields})


@pytest.mark.parametrize("when", ["20200101", "1700000000", 1700000000, 0, "-1", 1.5e9, "2020-01-01t00:00:00z",
                                  "yesterday", "01/02/2024"])
def test_a_date_that_is_not_iso_text_is_refused_not_read_as_seconds_since_1970(when):
    with pytest.raises(ValidationError, match="not a date: give ISO 8601 text"):
        _item(received_at=when)


@pytest.mark.parametrize("when, stored", [("2026-01-31", "2026-01-31 00:00:00"),
                                          ("2026-01-31T09:00:00Z", "2026-01-31 09:00:00"),
                                          ("2026-01-31T09:00:00+02:00", "2026-01-31 07:00:00"),
                                          ("2026-01-31 09:00", "2026-01-31 09:00:00")])
def test_iso_dates_with_or_without_a_time_or_an_offset_are_taken_in_utc(when, stored):
    assert str(_item(received_at=when).received_at) == stored


def test_a_blank_id_is_refused_rather_than_replaced_so_a_retry_is_not_stored_twice():
    with pytest.raises(ValidationError, match="must not be blank"):
        _item(feedback_id="   ")
    assert _item().feedback_id is None  # left out: patron makes one


@pytest.mark.parametrize("mark", ["\u00ad", "\u061c", "\u180e", "\u206a", "\ufff9", "\u034f", "\u115f"])
def test_invisible_marks_in_an_id_or_a_channel_are_refused(mark):
    with pytest.raises(ValidationError, match="invisible character"):
        _item(channel=f"we{mark}b")
    with pytest.raises(ValidationError, match="invisible character"):
        _item(feedback_id=f"id{mark}1")


@pytest.mark.parametrize("amount", [float("inf"), float("-inf"), float("nan"), 1e300, -2e12])
def test_a_number_that_is_not_finite_or_absurdly_large_is_refused_as_a_file_load_refuses_it(amount):
    from patron.api.models import item_model

    orders = item_model("orders")
    order = {"order_id": "o1", "customer_ref": "A", "ordered_at": "2024-05-01"}
    with pytest.raises(ValidationError, match="finite number|less than or equal|greater than or equal"):
        orders.model_validate(order | {"amount": amount})
    assert orders.model_validate(order | {"amount": 999_999_999_999.0}).amount == 999_999_999_999.0
