"""The scalar, DuckDB and Polars checks must give the same reason for every value."""

from datetime import date, timedelta

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datong.codes import validate_credit_code, validate_id_number
from datong.codes import credit_code as cc
from datong.codes import id_number as idn
from datong.codes.divisions import all_codes
from datong.codes.vectorised import credit_reason_expr, credit_reason_sql, id_reason_expr, id_reason_sql, install_macros

TODAY = date(2026, 11, 23)
DIVISIONS = sorted(all_codes())


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    install_macros(connection)
    yield connection
    connection.close()


@st.composite
def valid_ids(draw):
    division = draw(st.sampled_from(DIVISIONS))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(0, 999))
    first17 = f"{division}{born:%Y%m%d}{sequence:03d}"
    return first17 + idn.check_character(first17)


@st.composite
def mutated(draw, base, alphabet):
    value = draw(base)
    how = draw(st.sampled_from(["keep", "replace", "drop", "insert", "lower", "pad"]))
    i = draw(st.integers(0, len(value) - 1))
    c = draw(st.sampled_from(alphabet))
    return {
        "keep": value,
        "replace": value[:i] + c + value[i + 1:],
        "drop": value[:i] + value[i + 1:],
        "insert": value[:i] + c + value[i:],
        "lower": value.lower(),
        "pad": f"  {value} ",
    }[how]


ID_ALPHABET = list("0123456789Xx年A ")
ids = st.one_of(
    mutated(valid_ids(), ID_ALPHABET),
    valid_ids().map(lambda v: v[:6] + v[8:17]),  # 15-digit legacy form
    st.text(alphabet="0123456789X", max_size=20),
)


@st.composite
def valid_credit_codes(draw):
    authority = draw(st.sampled_from(sorted(cc.AUTHORITIES)))
    entity_type = draw(st.sampled_from(sorted(cc.AUTHORITIES[authority])))
    division = draw(st.sampled_from(DIVISIONS + ["100000"]))
    org8 = draw(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
    return cc.make_credit_code(authority, entity_type, division, org8)


codes = st.one_of(
    mutated(valid_credit_codes(), list(cc.ALPHABET + "IOSVZ a")),
    st.text(alphabet=cc.ALPHABET, max_size=20),
)


def _duckdb(con, values, sql):
    frame = pl.DataFrame({"value": values}, schema={"value": pl.String}).with_row_index("row")
    con.register("frame", frame)
    try:
        return [row[0] for row in con.execute(f"SELECT {sql} FROM frame ORDER BY row").fetchall()]
    finally:
        con.unregister("frame")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ids, min_size=1, max_size=30))
def test_id_checks_agree(con, values):
    scalar = [validate_id_number(v, today=TODAY).reason for v in values]
    in_duckdb = _duckdb(con, values, id_reason_sql("value", TODAY))
    in_polars = pl.DataFrame({"value": values}).select(id_reason_expr("value", TODAY))["value"].to_list()
    assert scalar == in_duckdb == in_polars


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(codes, min_size=1, max_size=30))
def test_credit_code_checks_agree(con, values):
    scalar = [validate_credit_code(v).reason for v in values]
    in_duckdb = _duckdb(con, values, credit_reason_sql("value"))
    in_polars = pl.DataFrame({"value": values}).select(credit_reason_expr("value"))["value"].to_list()
    assert scalar == in_duckdb == in_polars


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(valid_ids(), min_size=1, max_size=20), st.lists(valid_credit_codes(), min_size=1, max_size=20))
def test_generated_valid_values_are_valid(con, id_values, code_values):
    """Guard against a vacuous agreement: the strategies do produce valid values."""
    assert all(r is None for r in _duckdb(con, id_values, id_reason_sql("value", TODAY)))
    assert all(r is None for r in _duckdb(con, code_values, credit_reason_sql("value")))


def test_null_is_empty(con):
    assert _duckdb(con, [None], id_reason_sql("value", TODAY)) == ["empty"]
    assert pl.DataFrame({"v": [None]}, schema={"v": pl.String}).select(credit_reason_expr("v"))["v"][0] == "empty"


def test_column_names_are_quoted(con):
    frame = pl.DataFrame({'odd "name"': ["11010519491231002X", "bad"]}).with_row_index("row")
    con.register("odd", frame)
    expression = id_reason_sql('odd "name"', TODAY)
    rows = con.execute(f"SELECT {expression} FROM odd ORDER BY row").fetchall()
    assert [r[0] for r in rows] == [None, "length"]


def test_future_birth_relative_to_today(con):
    tomorrow = TODAY + timedelta(days=1)
    first17 = f"110105{tomorrow:%Y%m%d}001"
    value = first17 + idn.check_character(first17)
    assert _duckdb(con, [value], id_reason_sql("value", TODAY)) == ["birth_future"]
