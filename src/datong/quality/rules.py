"""The rule engine: every rule is rendered to one SQL expression over the staged table.

The staged table has ``__row`` (the source row number), ``__key`` (the record key), ``__op``
(``U`` upsert or ``D`` delete), ``__first`` (the row where the key first appeared) and one text
column per data item (``i0``, ``i1``, …), already standardised. A rule's expression gives a
reason key when a row fails it and NULL when it passes, so all rules run in one vectorised pass
(:func:`evaluate`) and no row is visited in Python.

Where rules come from:
- the data element's own rule (``id_number``, ``credit_code``, ``code_list``, ``date``,
  ``pattern``), for every resource that uses the element;
- rules declared in ``quality_rules``, on an element or on one resource's data item
  (``not_null``, ``pattern``, ``length``, ``code_list``, ``date_range``), with their severity;
- the resource's structure: its key must be present and unique; birth date and sex must agree
  with the citizen ID; values must agree with the authoritative source (一数一源).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from datong.i18n import N_
from datong.codes.vectorised import DIVISIONS_TABLE
from datong.staging.columns import Declared, ItemColumn, SourceLookup
from datong.warehouse.engine import quote_identifier, sql_string

__all__ = ["Declared", "ItemColumn", "SourceLookup"]  # the shapes rules are built from, for callers

REJECT, WARN = "reject", "warn"
BIRTH_DATE, SEX = "DE0004", "DE0003"  # the standard elements the ID number also encodes

REASONS = {
    "key_missing": N_("the record key ({detail}) is empty"),
    "duplicate_key": N_("the key {value} appeared before, at row {detail}"),
    "not_null": N_("this is required"),
    "not_in_code_list": N_("{value} is not a code of {detail}"),
    "not_a_date": N_("{value} is not a date; write it as 2020-01-02"),
    "after_max": N_("the date {value} is later than {detail}"),
    "before_min": N_("the date {value} is earlier than {detail}"),
    "pattern": N_("{value} does not have the required form"),
    "too_long": N_("{value} is longer than {detail} characters"),
    "birth_mismatch": N_("birth date {value} differs from the ID number's, {detail}"),
    "sex_mismatch": N_("sex code {value} differs from the ID number's, {detail}"),
    "differs_from_source": N_("{value} differs from the authoritative source's value, {detail}"),
    "stale": N_("the last load was on {detail}, longer ago than the promised update cycle"),
}
KIND_LABELS = {
    "key": N_("record key present"), "unique_key": N_("record key unique"), "not_null": N_("required"),
    "id_number": N_("citizen ID number (GB 11643)"), "credit_code": N_("credit code (GB 32100)"),
    "code_list": N_("code list"), "date": N_("valid date"), "date_range": N_("date range"),
    "pattern": N_("format"), "length": N_("length"), "cross_field": N_("agrees with the ID number"),
    "cross_source": N_("agrees with the authoritative source"), "timeliness": N_("updated on time"),
}
DIMENSIONS = {"key": "completeness", "not_null": "completeness", "unique_key": "uniqueness",
              "cross_field": "consistency", "cross_source": "consistency"}  # the rest: validity


@dataclass(frozen=True)
class Check:
    code: str  # stable name: "<item>:<kind>", or "<kind>" for the whole record
    kind: str
    item: str | None
    column: str | None
    severity: str
    fails: str  # SQL giving a reason key, or NULL
    detail: str = "NULL"  # SQL giving what the message adds (the expected value, …)

    @property
    def dimension(self) -> str:
        return DIMENSIONS.get(self.kind, "validity")


def _guarded(op_aware: str) -> str:
    return f"CASE WHEN __op = 'D' THEN NULL ELSE {op_aware} END"


def _element_check(col: ItemColumn, kind: str, severity: str, params: dict, today: date) -> Check | None:
    v = col.ref
    day = f"DATE '{today.isoformat()}'"
    code = f"{col.name}:{kind}"
    if kind in ("id_number", "credit_code"):  # worked out once by precompute()
        return Check(code, kind, col.name, col.column, severity, quote_identifier("__r_" + col.column))
    if kind == "code_list":
        codes = params.get("codes") or col.codes
        if not codes:
            return None
        allowed = ", ".join(sql_string(c) for c in codes)
        return Check(code, kind, col.name, col.column, severity,
                     f"CASE WHEN {v} IS NOT NULL AND {v} NOT IN ({allowed}) THEN 'not_in_code_list' END",
                     sql_string(params.get("code_list") or col.code_list or ""))
    if kind == "date":
        return Check(code, kind, col.name, col.column, severity,
                     f"CASE WHEN {v} IS NOT NULL AND try_strptime({v}, '%Y-%m-%d') IS NULL THEN 'not_a_date' END")
    if kind == "date_range":
        bound = lambda b: day if b == "today" else f"DATE {sql_string(str(b))}"  # noqa: E731
        parsed = f"TRY_CAST(try_strptime({v}, '%Y-%m-%d') AS DATE)"
        tests, details = [], []
        if params.get("max"):
            tests.append(f"WHEN {parsed} > {bound(params['max'])} THEN 'after_max'")
            details.append(f"WHEN {parsed} > {bound(params['max'])} THEN CAST({bound(params['max'])} AS VARCHAR)")
        if params.get("min"):
            tests.append(f"WHEN {parsed} < {bound(params['min'])} THEN 'before_min'")
            details.append(f"WHEN {parsed} < {bound(params['min'])} THEN CAST({bound(params['min'])} AS VARCHAR)")
        if not tests:
            return None
        return Check(code, kind, col.name, col.column, severity, f"CASE {' '.join(tests)} END",
                     f"CASE {' '.join(details)} END")
    if kind == "pattern":
        pattern = params.get("pattern") or col.pattern
        if not pattern:
            return None
        return Check(code, kind, col.name, col.column, severity,
                     f"CASE WHEN {v} IS NOT NULL AND NOT regexp_full_match({v}, {sql_string(pattern)}) THEN 'pattern' END")
    if kind == "length":
        limit = int(params.get("max") or col.length or 0)
        if not limit:
            return None
        return Check(code, kind, col.name, col.column, severity,
                     f"CASE WHEN length({v}) > {limit} THEN 'too_long' END", sql_string(str(limit)))
    if kind == "not_null":
        return Check(code, kind, col.name, col.column, severity, f"CASE WHEN {v} IS NULL THEN 'not_null' END")
    return None


def _cross_field(columns: list[ItemColumn], today: date) -> list[Check]:
    person = next((c for c in columns if c.rule == "id_number" and c.key_kind == "person"), None)
    if person is None:
        return []
    valid = f"{person.ref} IS NOT NULL AND {quote_identifier('__r_' + person.column)} IS NULL"
    checks = []
    for col in columns:
        if col.element == BIRTH_DATE:
            expected = f"strftime(datong_id_birth({person.ref}), '%Y-%m-%d')"
            checks.append(Check(f"{col.name}:cross_field", "cross_field", col.name, col.column, WARN,
                                f"CASE WHEN {valid} AND try_strptime({col.ref}, '%Y-%m-%d') IS NOT NULL "
                                f"AND {col.ref} <> {expected} "
                                f"THEN 'birth_mismatch' END", expected))
        elif col.element == SEX:
            expected = f"CAST(2 - TRY_CAST(substr({person.ref}, 17, 1) AS INTEGER) % 2 AS VARCHAR)"
            checks.append(Check(f"{col.name}:cross_field", "cross_field", col.name, col.column, WARN,
                                f"CASE WHEN {valid} AND {col.ref} IN ('1', '2') AND {col.ref} <> {expected} "
                                f"THEN 'sex_mismatch' END", expected))
    return checks


def build_checks(columns: list[ItemColumn], declared: dict[str | None, list[Declared]],
                 lookups: list[SourceLookup], today: date) -> list[Check]:
    """All checks for one resource. ``declared`` maps an item name (or None: every item whose
    element the rule is bound to, already expanded by the caller) to its declared rules."""
    keys = [c for c in columns if c.key_kind]
    names = "、".join(c.name for c in keys)
    checks = [
        Check("key", "key", None, None, REJECT, "CASE WHEN __key IS NULL THEN 'key_missing' END", sql_string(names)),
        Check("unique_key", "unique_key", None, None, REJECT,
              "CASE WHEN __first IS NOT NULL THEN 'duplicate_key' END", "CAST(__first AS VARCHAR)"),
    ]
    for col in columns:
        own = {d.kind for d in declared.get(col.name, [])}
        if col.rule and col.rule not in own:
            severity = WARN if col.rule == "pattern" else REJECT
            if (check := _element_check(col, col.rule, severity, {}, today)) is not None:
                checks.append(_op_aware(check))
        for rule in declared.get(col.name, []):
            if (check := _element_check(col, rule.kind, rule.severity, rule.params, today)) is not None:
                checks.append(_op_aware(check))
        if col.length and "length" not in own and col.rule not in ("id_number", "credit_code"):
            checks.append(_op_aware(_element_check(col, "length", WARN, {}, today)))
    checks += [_op_aware(c) for c in _cross_field(columns, today)]
    for n, lookup in enumerate(lookups):
        col = columns[lookup.item_index]
        source = quote_identifier(f"x{n}")
        checks.append(_op_aware(Check(
            f"{col.name}:cross_source", "cross_source", col.name, col.column, WARN,
            f"CASE WHEN {col.ref} IS NOT NULL AND {source} IS NOT NULL AND {col.ref} <> {source} "
            f"THEN 'differs_from_source' END", f"{source} || ' (' || {sql_string(lookup.department)} || ')'")))
    return checks


def _op_aware(check: Check) -> Check:
    return Check(check.code, check.kind, check.item, check.column, check.severity, _guarded(check.fails),
                 check.detail)


def attach_sources(con: duckdb.DuckDBPyConnection, columns: list[ItemColumn], lookups: list[SourceLookup]) -> None:
    """Add column ``x<n>`` to ``staged``: the authoritative source's value for the same key."""
    for n, lookup in enumerate(lookups):
        name = quote_identifier(f"x{n}")
        key_path = sql_string(f'$."{lookup.key_name}"')
        value_path = sql_string(f'$."{lookup.value_name}"')
        con.execute(f"ALTER TABLE staged ADD COLUMN {name} VARCHAR")
        con.execute(f"""
            UPDATE staged SET {name} = src.v FROM (
                SELECT json_extract_string(payload, {key_path}) AS k, any_value(json_extract_string(payload, {value_path})) AS v
                FROM read_parquet({sql_string(lookup.snapshot)}) GROUP BY 1) AS src
            WHERE src.k = staged.{columns[lookup.key_index].ref}""")


def precompute(con: duckdb.DuckDBPyConnection, columns: list[ItemColumn], today: date) -> None:
    """Work out each ID number's and credit code's reason once (the ID check and the cross-field
    checks all need it) as columns ``__r_<item column>`` of ``staged``. Division codes are found
    with one hash join per ID column (values are already standardised: trimmed, upper case)."""
    extra, joins = [], []
    for col in columns:
        name = quote_identifier("__r_" + col.column)
        if col.rule == "id_number":
            alias = quote_identifier("d_" + col.column)
            joins.append(f"LEFT JOIN {DIVISIONS_TABLE} {alias} ON {alias}.code = substr(s.{col.ref}, 1, 6)")
            extra.append(f"CASE WHEN s.{col.ref} IS NOT NULL THEN datong_id_reason_k(s.{col.ref}, {alias}.code IS NOT NULL, "
                         f"datong_id_birth(s.{col.ref}), DATE '{today.isoformat()}') END AS {name}")
        elif col.rule == "credit_code":
            extra.append(f"CASE WHEN s.{col.ref} IS NOT NULL THEN datong_credit_reason(s.{col.ref}) END AS {name}")
    if extra:
        con.execute(f"CREATE OR REPLACE TABLE staged AS SELECT s.*, {', '.join(extra)} FROM staged s {' '.join(joins)}")


def evaluate(con: duckdb.DuckDBPyConnection, checks: list[Check]) -> None:
    """Create ``problems(__row, check_no, reason, value, detail)``: one row per failed check.
    One filtered scan per check, in a single UNION ALL query that DuckDB runs in parallel."""
    con.execute("CREATE TABLE problems (__row BIGINT, check_no INTEGER, reason VARCHAR, value VARCHAR, "
                "detail VARCHAR)")
    parts = []
    for n, check in enumerate(checks):
        value = quote_identifier(check.column) if check.column else "__key"
        parts.append(f"SELECT __row, {n} AS check_no, reason, {value} AS value, CAST({check.detail} AS VARCHAR) AS detail "
                     f"FROM (SELECT *, {check.fails} AS reason FROM staged) WHERE reason IS NOT NULL")
    if parts:
        con.execute(f"INSERT INTO problems {' UNION ALL '.join(parts)}")
