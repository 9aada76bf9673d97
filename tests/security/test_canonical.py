"""The writer's one-pass encoding of an event gives exactly the bytes verification hashes."""

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from datong.db.snapshot import sqlite_time
from datong.security.chain import _sealed, canonical

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=20)  # control characters, quotes, Hanzi…
maybe = st.none() | text
values = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | text,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                      max_leaves=8)
events = st.fixed_dictionaries({
    "seq": st.integers(1, 2**62), "occurred_at": st.datetimes(timezones=st.just(UTC)), "actor": text,
    "actor_department": maybe, "action": text, "target": maybe, "subjects": st.lists(text, max_size=4),
    "purpose": maybe, "case_number": maybe, "outcome": st.sampled_from(["success", "denied", "failure"]),
    "detail": st.dictionaries(text, values, max_size=4), "algorithm": st.sampled_from(["sm3", "sha256"]),
    "prev_hash": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
})


@given(events)
@settings(max_examples=400, deadline=None)
def test_the_one_pass_encoding_equals_canonical(event):
    when = event["occurred_at"].isoformat(timespec="microseconds")
    body, subjects, detail = _sealed(event, when)
    assert body == canonical(event)
    assert json.loads(subjects) == event["subjects"] and json.loads(detail) == event["detail"]


@given(st.datetimes(timezones=st.just(UTC)) | st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))))
def test_the_stored_time_is_sqlalchemys_text_whether_or_not_the_iso_form_is_reused(moment: datetime):
    iso = moment.isoformat(timespec="microseconds")
    assert sqlite_time(moment, iso) == sqlite_time(moment) == \
        moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
