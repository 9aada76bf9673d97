"""The registry's bulk work in DuckDB: read every source's snapshot, link records by their IDs,
and choose each attribute's golden value. All set-based SQL; no per-record Python.

Tables made here (one connection per build):

- ``attrs``    (resource_id, record_key, element, value, shared): every registry attribute a record gives.
- ``mentions`` (resource_id, record_key, slot, key, valid, reg_no, org_code): each key a record holds
  (a 15-digit ID upgraded to 18, as ingest does, full-width digits made half-width).
- ``links``    (resource_id, record_key, subject, method, probability, suspect).
- ``vals``     (subject, element, resource_id, record_key, value, load_id, as_of, golden, rule, agrees).
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from datong.codes.vectorised import DIVISIONS_TABLE
from datong.registry.features import PLACE_PREFIX
from datong.registry.spec import (
    DIVISION,
    ENTITY,
    FEATURES,
    IDENTITY,
    ORG_CODE,
    PERSON,
    REG_NO,
    Source,
)
from datong.warehouse.engine import sql_string, table_from_rows


def _fields(con: duckdb.DuckDBPyConnection, source: Source, parquet: str) -> dict[str, str]:
    """``fields`` (__key, f1, f2, …): the source's items the registry reads, cleaned, each record's
    JSON parsed once for all of them; returns item → column."""
    names = list(dict.fromkeys([n for n, _ in source.attributes] + [n for n, _ in source.old_codes]
                               + list(source.keys)))
    paths = ", ".join(sql_string("$." + _json_name(n)) for n in names) or "'$.__none'"
    columns = "".join(f", datong_clean(j[{i + 1}]) AS f{i + 1}" for i in range(len(names)))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE fields AS
        SELECT __key{columns} FROM (SELECT __key, json_extract_string(payload, [{paths}]) AS j FROM {parquet})""")
    return {n: f"f{i + 1}" for i, n in enumerate(names)}


def _json_name(item: str) -> str:
    return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key_sql(kind: str, value: str) -> str:
    return f"datong_id_standard({value})" if kind == PERSON else f"upper({value})"


def _valid_sql(kind: str, key: str, today: date) -> str:
    """Whether the key passes its check; for an ID number, the division is found by a join on
    the division table (``d.code``), which runs as a hash join rather than a lookup per row."""
    if kind == PERSON:
        v = f"upper(trim({key}))"
        return (f"datong_id_reason_k({v}, d.code IS NOT NULL, datong_id_birth({v}), "
                f"DATE {sql_string(today.isoformat())}) IS NULL")
    return f"datong_credit_reason({key}) IS NULL"


def register_sources(con: duckdb.DuckDBPyConnection, sources: list[Source]) -> None:
    rows = [(s.resource_id, s.code, s.department, s.load_id, s.as_of, s.as_of.isoformat(timespec="seconds"), s.single)
            for s in sources]
    table_from_rows(con, "sources", {"resource_id": pl.Int32, "code": pl.String, "department": pl.String,
                                     "load_id": pl.Int32, "as_of": pl.Datetime("us", "UTC"), "as_of_iso": pl.String,
                                     "single": pl.Boolean}, rows)


def extract(con: duckdb.DuckDBPyConnection, kind: str, sources: list[Source], today: date,
            keep: str | None = None) -> None:
    """``attrs`` and ``mentions`` from every source's newest snapshot; with ``keep`` (a table of
    resource_id, record_key), only those records."""
    register_sources(con, sources)
    con.execute("CREATE OR REPLACE TABLE attrs (resource_id INTEGER, record_key VARCHAR, element VARCHAR, "
                "value VARCHAR, shared BOOLEAN)")
    con.execute("CREATE OR REPLACE TABLE raw_mentions (resource_id INTEGER, record_key VARCHAR, slot INTEGER, "
                "raw VARCHAR, reg_no VARCHAR, org_code VARCHAR)")
    identity = IDENTITY[kind]
    for s in sources:
        parquet = f"read_parquet({sql_string(s.snapshot)})"
        if keep is not None:
            parquet = (f"(SELECT * FROM {parquet} WHERE __key IN "
                       f"(SELECT record_key FROM {keep} WHERE resource_id = {s.resource_id}))")
        field = _fields(con, s, parquet)
        if s.attributes:
            structs = ", ".join(f"{{'element': {sql_string(e)}, 'value': {field[n]}, "
                                f"'shared': {'true' if s.single or e not in identity else 'false'}}}"
                                for n, e in s.attributes)
            repeated = len({e for _, e in s.attributes}) < len(s.attributes)  # two items, one element
            con.execute(f"""INSERT INTO attrs SELECT {'DISTINCT' if repeated else ''} * FROM (
                SELECT {s.resource_id} AS resource_id, __key AS record_key, unnest([{structs}], recursive := true)
                FROM fields) WHERE value IS NOT NULL""")
        reg = next((field[n] for n, e in s.old_codes if e == REG_NO), "NULL")
        org = next((field[n] for n, e in s.old_codes if e == ORG_CODE), "NULL")
        slots = ", ".join(f"{{'slot': {i}, 'raw': {field[n]}}}" for i, n in enumerate(s.keys)) \
            or "{'slot': 0, 'raw': NULL::VARCHAR}"
        con.execute(f"""INSERT INTO raw_mentions SELECT {s.resource_id}, __key, m.slot, m.raw, {reg}, {org}
            FROM (SELECT *, unnest([{slots}]) AS m FROM fields)""")
    con.execute("DROP TABLE IF EXISTS fields")
    key = _key_sql(kind, "raw")
    con.execute(f"""CREATE OR REPLACE TABLE mentions AS
        SELECT resource_id, record_key, slot, k AS key, k IS NOT NULL AND {_valid_sql(kind, 'k', today)} AS valid,
               reg_no, upper(replace(org_code, '-', '')) AS org_code
        FROM (SELECT *, {key} AS k FROM raw_mentions) m
        LEFT JOIN {DIVISIONS_TABLE} d ON {'d.code = substr(upper(trim(k)), 1, 6)' if kind == PERSON else 'false'}""")
    con.execute("DROP TABLE raw_mentions")


def link_by_keys(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """``links`` from valid IDs; for companies also from an old 注册号 or 组织机构代码 that maps
    to exactly one credit code."""
    con.execute("""CREATE OR REPLACE TABLE links AS
        SELECT DISTINCT resource_id, record_key, key AS subject, 'id' AS method,
               NULL::DOUBLE AS probability, NULL::VARCHAR AS suspect
        FROM mentions WHERE valid""")
    if kind != ENTITY:
        return
    # 组织机构代码 is positions 9–17 of the credit code; 注册号 maps where a record carries both (or
    # the registry's golden record does: an incremental update sees only some records).
    known = ("UNION SELECT DISTINCT substr(subject, 9, 9), subject FROM golden_before "
             "UNION SELECT DISTINCT reg_no, subject FROM golden_before WHERE reg_no IS NOT NULL"
             if table_exists(con, "golden_before") else "")
    con.execute(f"""CREATE OR REPLACE TABLE old_map AS
        SELECT code, any_value(subject) AS subject FROM (
            SELECT DISTINCT substr(key, 9, 9) AS code, key AS subject FROM mentions WHERE valid
            UNION SELECT DISTINCT org_code, key FROM mentions WHERE valid AND org_code IS NOT NULL
            UNION SELECT DISTINCT reg_no, key FROM mentions WHERE valid AND reg_no IS NOT NULL {known})
        GROUP BY code HAVING count(DISTINCT subject) = 1""")
    con.execute("""INSERT INTO links
        SELECT DISTINCT m.resource_id, m.record_key, o.subject, 'old_code', NULL, NULL
        FROM mentions m JOIN old_map o ON o.code = coalesce(m.org_code, m.reg_no)
        WHERE NOT m.valid AND NOT EXISTS (SELECT 1 FROM links l WHERE l.resource_id = m.resource_id
                                          AND l.record_key = m.record_key)""")


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0])


def apply_decisions(con: duckdb.DuckDBPyConnection, decisions: list[tuple[int, str, str, str]]) -> None:
    """A steward's decision outranks the model and the ID: "same" links, "different" unlinks."""
    table_from_rows(con, "decisions", {"resource_id": pl.Int32, "record_key": pl.String, "subject": pl.String,
                                       "status": pl.String}, decisions)
    con.execute("DELETE FROM links l USING decisions d WHERE d.status = 'different' AND l.resource_id = d.resource_id "
                "AND l.record_key = d.record_key AND l.subject = d.subject")
    con.execute("""DELETE FROM links l USING decisions d WHERE d.status = 'same' AND l.resource_id = d.resource_id
                   AND l.record_key = d.record_key AND l.method = 'model'""")
    con.execute("""INSERT INTO links SELECT resource_id, record_key, subject, 'steward', NULL, NULL
                   FROM decisions d WHERE status = 'same' AND NOT EXISTS (
                       SELECT 1 FROM links l WHERE l.resource_id = d.resource_id AND l.record_key = d.record_key
                       AND l.subject = d.subject)""")


def choose_golden(con: duckdb.DuckDBPyConnection, authorities: dict[str, str],
                  precedence: dict[str, list[str]], elements: list[str], only: str | None = None) -> None:
    """``vals``: every linked value; per subject and element the golden one is the authoritative
    department's (一数一源), else the first in the bureau's precedence list, else the newest.
    With ``only`` (a table of subjects), just those subjects' rows of ``vals`` are chosen again:
    each subject's values are its own, so the others' stay as they are."""
    table_from_rows(con, "authority", {"element": pl.String, "department": pl.String}, authorities.items())
    table_from_rows(con, "precedence", {"element": pl.String, "department": pl.String, "position": pl.Int32},
                    [(e, d, i) for e, order in precedence.items() for i, d in enumerate(order)])
    wanted = ", ".join(sql_string(e) for e in elements) or "NULL"
    subjects = f" AND l.subject IN (SELECT subject FROM {only})" if only else ""
    # Grouped aggregates rather than window functions: at millions of values DuckDB spills
    # aggregates and joins to disk, where windows over that many partitions run out of memory.
    # ``base`` is kept narrow (what depends only on the source is joined at the end): at millions
    # of values its width is what spills. A record is linked to a subject once (``links``) and
    # gives an element once (``extract``), so no value is here twice.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE base AS
        SELECT l.subject, a.element, a.resource_id, a.record_key, a.value,
               CASE WHEN au.department = s.department THEN 0 WHEN p.position IS NOT NULL THEN 1 + p.position
                    ELSE 1000 END AS rank,
               -- an address with or without its 省/市 prefix says the same
               CASE WHEN a.element = 'DE0008' THEN regexp_replace(replace(a.value, ' ', ''), {sql_string(PLACE_PREFIX)}, '')
                    END AS cmp
        FROM links l JOIN attrs a USING (resource_id, record_key) JOIN sources s USING (resource_id)
        LEFT JOIN authority au ON au.element = a.element
        LEFT JOIN precedence p ON p.element = a.element AND p.department = s.department
        WHERE a.shared AND l.suspect IS NULL AND a.element IN ({wanted}){subjects}""")
    # Most of a subject's attributes have one source: only those with several values are weighed.
    con.execute("""CREATE OR REPLACE TEMP TABLE contested AS
        SELECT subject, element FROM base GROUP BY subject, element HAVING count(*) > 1""")
    con.execute("""CREATE OR REPLACE TEMP TABLE several AS
        SELECT b.* EXCLUDE (cmp), coalesce(b.cmp, b.value) AS comparable FROM base b SEMI JOIN contested USING (subject, element)""")
    # with neither an authoritative value nor a precedence list: what most sources say, then the newest
    con.execute("""CREATE OR REPLACE TEMP TABLE winners AS
        SELECT b.subject, b.element,
               arg_min({'resource_id': b.resource_id, 'record_key': b.record_key, 'comparable': b.comparable,
                        'rank': b.rank},
                       {'rank': b.rank, 'support': -c.support, 'age': -epoch(s.as_of), 'resource_id': b.resource_id,
                        'record_key': b.record_key}) AS w
        FROM several b JOIN sources s USING (resource_id)
        JOIN (SELECT subject, element, comparable, count(*) AS support FROM several
              GROUP BY subject, element, comparable) c USING (subject, element, comparable)
        GROUP BY b.subject, b.element""")
    if only:
        con.execute(f"DELETE FROM vals WHERE subject IN (SELECT subject FROM {only})")
    rule = "CASE WHEN {r} = 0 THEN 'authoritative' WHEN {r} < 1000 THEN 'precedence' ELSE 'latest' END"
    con.execute(f"""{'INSERT INTO vals' if only else 'CREATE OR REPLACE TABLE vals AS'}
        SELECT b.subject, b.element, b.resource_id, b.record_key, b.value, s.load_id, s.as_of, s.as_of_iso,
               true AS golden, {rule.format(r='b.rank')} AS rule, true AS agrees, false AS contested
        FROM base b ANTI JOIN contested USING (subject, element) JOIN sources s USING (resource_id)
        UNION ALL
        SELECT b.subject, b.element, b.resource_id, b.record_key, b.value, s.load_id, s.as_of, s.as_of_iso,
               golden, CASE WHEN golden THEN {rule.format(r='w.w.rank')} END AS rule,
               b.comparable = w.w.comparable AS agrees, true AS contested
        FROM several b JOIN winners w USING (subject, element) JOIN sources s USING (resource_id),
             LATERAL (SELECT b.resource_id = w.w.resource_id AND b.record_key = w.w.record_key AS golden)""")
    con.execute("DROP TABLE several")
    con.execute("DROP TABLE contested")
    con.execute("DROP TABLE base")
    con.execute("DROP TABLE winners")


#: Values per part when the provenance documents are built (about half a GB of DuckDB's memory; their
#: list aggregates stay in memory rather than spill, and a part must leave room for the writer too).
PROFILE_PART_VALUES = 2_000_000


def profile_rows(con: duckdb.DuckDBPyConnection) -> None:
    """``profile_rows`` (subject, attributes, disagreements): per subject one JSON document, per
    element the golden value with its source and rule, the resources that agree, and the values
    that differ."""
    # Built as text from json_object per element: to_json over structs of lists is six times slower.
    # List aggregates keep their state in memory, so millions of subjects go in parts by hash.
    parts = max(1, con.execute("SELECT count(*) FROM vals").fetchone()[0] // PROFILE_PART_VALUES + 1)
    con.execute("CREATE OR REPLACE TABLE profile_rows (subject VARCHAR, attributes VARCHAR, disagreements INTEGER)")
    for part in range(parts):
        this = f"hash(subject) % {parts} = {part}"
        # an element with one source needs no grouping: its value is golden, agreed by none, and
        # differs from none
        con.execute(f"""INSERT INTO profile_rows
        SELECT subject, '{{' || string_agg(to_json(element)::VARCHAR || ':' || doc, ',' ORDER BY element) || '}}',
               CAST(sum(differing) AS INTEGER)
        FROM (SELECT subject, element, 0 AS differing, json_object(
                  'value', value, 'resource', resource_id, 'record', record_key, 'load', load_id, 'as_of', as_of_iso,
                  'rule', rule, 'agree', []::INTEGER[], 'differ', []::JSON[])::VARCHAR AS doc
              FROM vals WHERE NOT contested AND {this}
              UNION ALL
              SELECT subject, element, count(*) FILTER (WHERE NOT agrees) AS differing, json_object(
                  'value', any_value(value) FILTER (WHERE golden),
                  'resource', any_value(resource_id) FILTER (WHERE golden),
                  'record', any_value(record_key) FILTER (WHERE golden),
                  'load', any_value(load_id) FILTER (WHERE golden),
                  'as_of', any_value(as_of_iso) FILTER (WHERE golden),
                  'rule', any_value(rule) FILTER (WHERE golden),
                  'agree', coalesce(list(resource_id ORDER BY resource_id) FILTER (WHERE agrees AND NOT golden), []),
                  'differ', coalesce(list(json_object('value', value, 'resource', resource_id, 'record', record_key,
                                                      'load', load_id, 'as_of', as_of_iso)
                                          ORDER BY resource_id, record_key) FILTER (WHERE NOT agrees), []))::VARCHAR
              FROM vals WHERE contested AND {this} GROUP BY subject, element)
        GROUP BY subject""")


def flag_wrong_ids(con: duckdb.DuckDBPyConnection, kind: str) -> int:
    """A record linked by its ID whose name and birth date (for a company: name and date
    established) both differ from the subject's golden ones most likely carries someone else's
    ID: flag it, keep its values out of the golden record, and let the model look for its owner."""
    features = FEATURES[kind]
    first, second = (features["name"], features["birth"]) if kind == PERSON else (features["name"], features["founded"])
    con.execute(f"""UPDATE links SET suspect = 'wrong_id' FROM (
        SELECT l.resource_id, l.record_key, l.subject FROM links l
        JOIN attrs a1 ON a1.resource_id = l.resource_id AND a1.record_key = l.record_key AND a1.element = {sql_string(first)}
        JOIN attrs a2 ON a2.resource_id = l.resource_id AND a2.record_key = l.record_key AND a2.element = {sql_string(second)}
        JOIN vals g1 ON g1.subject = l.subject AND g1.element = a1.element AND g1.golden
        JOIN vals g2 ON g2.subject = l.subject AND g2.element = a2.element AND g2.golden
        WHERE l.method = 'id' AND a1.shared
          AND g1.resource_id <> l.resource_id AND a1.value <> g1.value AND a2.value <> g2.value) x
        WHERE links.resource_id = x.resource_id AND links.record_key = x.record_key AND links.subject = x.subject""")
    return con.execute("SELECT count(*) FROM links WHERE suspect = 'wrong_id'").fetchone()[0]


def _feature_columns(kind: str) -> str:
    return ", ".join(f"max(CASE WHEN a.element = {sql_string(e)} THEN a.value END) AS {name}"
                     for name, e in FEATURES[kind].items())


def unlinked_features(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """``left_records``: the records the model is to place: single-subject records with no link,
    and those flagged as carrying a wrong ID; one row each, with the comparison columns."""
    cols = _feature_columns(kind)
    con.execute(f"""CREATE OR REPLACE TABLE left_records AS
        SELECT a.resource_id, a.record_key, {cols}, any_value(x.subject) AS claimed
        FROM attrs a JOIN sources s USING (resource_id)
        LEFT JOIN (SELECT resource_id, record_key, subject FROM links WHERE suspect IS NOT NULL) x
               USING (resource_id, record_key)
        WHERE s.single AND (x.subject IS NOT NULL OR NOT EXISTS (
            SELECT 1 FROM links l WHERE l.resource_id = a.resource_id AND l.record_key = a.record_key))
        GROUP BY a.resource_id, a.record_key""")


def labelled_features(con: duckdb.DuckDBPyConnection, kind: str, limit: int) -> int:
    """``labelled_records`` (lid, label, comparison columns): up to ``limit`` records of the
    resources the model places (those with records in ``left_records``) that their valid ID
    linked, unflagged, labelled with their subject: true matches, from which the model learns
    how often a department's record of a person differs from the golden one, and in which way.
    A value that is itself the golden one is left out (it would compare equal by construction).
    The sample is a hash of the record, so a rebuild on the same data draws the same one."""
    cols = _feature_columns(kind)
    con.execute(f"""CREATE OR REPLACE TABLE labelled_records AS
        WITH chosen AS (
            SELECT resource_id, record_key, subject AS label FROM links
            WHERE method = 'id' AND suspect IS NULL AND resource_id IN (SELECT DISTINCT resource_id FROM left_records)
            ORDER BY hash(resource_id, record_key), resource_id, record_key LIMIT {int(limit)})
        SELECT CAST(a.resource_id AS VARCHAR) || ':' || a.record_key AS lid, any_value(c.label) AS label, {cols}
        FROM attrs a JOIN chosen c USING (resource_id, record_key)
        WHERE NOT EXISTS (SELECT 1 FROM vals g WHERE g.golden AND g.resource_id = a.resource_id
                          AND g.record_key = a.record_key AND g.element = a.element)
        GROUP BY a.resource_id, a.record_key""")
    return con.execute("SELECT count(*) FROM labelled_records").fetchone()[0]


def profiles(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """``right_records``: each subject's golden comparison columns; the division from its key
    (an ID's first six digits, a credit code's 3rd to 8th) where no source gives one."""
    features = FEATURES[kind]
    cols = ", ".join(f"max(CASE WHEN element = {sql_string(e)} THEN value END) AS {name}"
                     for name, e in features.items() if e != DIVISION)
    division = "substr(subject, 1, 6)" if kind == PERSON else "substr(subject, 3, 6)"
    con.execute(f"""CREATE OR REPLACE TABLE right_records AS
        SELECT subject, {cols}, {division} AS division FROM vals WHERE golden GROUP BY subject""")
