"""A registry build from start to end, and the incremental update a committed load causes.

1. Read what the catalog says (sources, 一数一源, precedence, the steward's decisions) in one
   read transaction.
2. In DuckDB: link by IDs, choose golden values, flag wrong IDs, let the model place the rest,
   choose again (``extract``, ``linkage``).
3. Write subjects, links, values, history, review items and disagreement issues in one short
   transaction; then load the golden records into the registry's own resource through the
   ordinary load path (so sharing, the 一号 view, subscriptions and audit work on them as on any
   resource).

An incremental update reads the same snapshots but writes only the subjects the load touched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from datong.db.base import utcnow
from datong.db.engine import Database
from datong.db.snapshot import Prepared
from datong.ingest.flows import run_load
from datong.ingest.sources import Source as LoadSource
from datong.registry import extract, features, linkage, service
from datong.registry.models import (
    DIFFERENT,
    SAME,
    SEARCHED,
    Build,
    Link,
    Name,
    Profile,
    Review,
    Subject,
)
from datong.registry.spec import (
    FEATURES,
    PERSON,
    Source,
    authorities,
    elements_of,
    sources_of,
)
from datong.security.audit import append_event
from datong.security.authz import Actor, Target, authorize
from datong.store.snapshots import last_snapshot
from datong.store.writer import LARGE_CACHE_MIB, Bulk
from datong.warehouse import engine as warehouse
from datong.warehouse.engine import sql_string, table_from_rows

IDS = {"subject": pl.String, "id": pl.Int64}
ID_PARTITION = 100_000
#: What writing needs beside DuckDB: SQLite's large page cache, and as much again for the driver's
#: batches and the sorting of the rebuilt indexes.
WRITER_MEMORY = 2 * LARGE_CACHE_MIB * 2**20
KEEP = {"resource_id": pl.Int32, "record_key": pl.String}

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
PHASES = ("read", "link", "model", "write", "load")


@dataclass
class Scope:
    """What an incremental update is about: one resource's records that a load changed."""

    resource_id: int
    snapshot: str
    previous: str | None


@dataclass
class Thresholds:
    auto: float = 0.95  # at or above: linked by the model
    review: float = 0.5  # from here up to auto: a steward decides


@dataclass
class BuildReport:
    kind: str
    mode: str
    subjects: int = 0
    records: int = 0
    linked: dict[str, int] = field(default_factory=dict)
    unlinked: int = 0
    wrong_ids: int = 0
    reviews_added: int = 0
    disagreements: int = 0
    changed: int = 0
    load_id: int | None = None
    seconds: float = 0.0
    owned: float | None = None  # the share of unlinked records whose owner is in the registry


@dataclass
class Inputs:
    registry_id: int
    registry_code: str
    sources: list[Source]
    elements: list[str]
    items: dict[str, str]  # element → the registry resource's item name
    authorities: dict[str, str]
    precedence: dict[str, list[str]]
    decisions: list[tuple[int, str, str, str]]
    previous_golden: str | None
    built: bool


def _inputs(database: Database, kind: str, scope: Scope | None) -> Inputs:
    with database.reading() as session:
        registry = service.registry_resource(session, kind)
        sources = sources_of(session, kind, exclude=service.registry_resource_ids(session))
        elements = elements_of(session, kind)
        items = {e.identifier: e.name for e in elements}
        decisions = [(r.resource_id, r.record_key, key, r.status) for r, key in session.execute(
            select(Review, Subject.key).join(Subject, Subject.id == Review.subject_id)
            .where(Review.kind == kind, Review.status.in_((SAME, DIFFERENT))))]
        return Inputs(registry.id, registry.code, sources, [e.identifier for e in elements], items,
                      authorities(session), service.precedence_lists(session), decisions,
                      last_snapshot(session, registry.id),
                      service.is_built(session, registry.id))


def _changed_records(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    """``changed`` (resource_id, record_key): records of the scope's resource that the load
    added, changed or removed."""
    new = f"read_parquet({sql_string(scope.snapshot)})"
    if scope.previous and Path(scope.previous).exists():
        old = f"read_parquet({sql_string(scope.previous)})"
        con.execute(f"""CREATE OR REPLACE TABLE changed AS SELECT {scope.resource_id} AS resource_id, __key AS record_key
            FROM (SELECT __key FROM (SELECT __key, __hash FROM {new} EXCEPT SELECT __key, __hash FROM {old})
                  UNION SELECT o.__key FROM {old} o ANTI JOIN {new} n USING (__key))""")
    else:
        con.execute(f"CREATE OR REPLACE TABLE changed AS SELECT {scope.resource_id} AS resource_id, "
                    f"__key AS record_key FROM {new}")


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _linked_records(database: Database, kind: str, subjects: list[str]) -> list[tuple[int, str]]:
    """(resource_id, record_key) of every record the registry linked to these subjects."""
    rows = []
    with database.reading() as session:
        for chunk in _chunks(subjects):
            rows += session.execute(select(Link.resource_id, Link.record_key).join(Subject, Subject.id == Link.subject_id)
                                    .where(Subject.kind == kind, Subject.key.in_(chunk))).all()
    return rows


def _scope(database: Database, con: duckdb.DuckDBPyConnection, kind: str, inputs: Inputs, scope: Scope,
           today: date) -> None:
    """``touched`` (subjects) and ``keep`` (their records, and the changed ones): the changed
    records' IDs now, and the subjects they were linked to before."""
    own = [s for s in inputs.sources if s.resource_id == scope.resource_id]
    extract.extract(con, kind, own, today, keep="changed")
    now = [r[0] for r in con.execute("SELECT DISTINCT key FROM mentions WHERE valid").fetchall()]
    changed = [r[0] for r in con.execute("SELECT record_key FROM changed").fetchall()]
    before = []
    with database.reading() as session:
        for chunk in _chunks(changed):
            before += session.scalars(select(Subject.key).join(Link, Link.subject_id == Subject.id).where(
                Link.resource_id == scope.resource_id, Link.record_key.in_(chunk))).all()
    touched = sorted(set(now) | set(before))
    table_from_rows(con, "touched", {"subject": pl.String}, [(k,) for k in touched])
    table_from_rows(con, "keep", KEEP, _linked_records(database, kind, touched))
    con.execute("INSERT INTO keep SELECT * FROM changed")


def _widen(database: Database, con: duckdb.DuckDBPyConnection, kind: str, inputs: Inputs, today: date) -> None:
    """Subjects the changed records were linked to only now (by the model, or an old code) join
    the update with all their records; the changed records' new links are kept."""
    extra = [r[0] for r in con.execute("SELECT DISTINCT subject FROM links SEMI JOIN changed USING (resource_id, record_key) "
                                       "WHERE subject NOT IN (SELECT subject FROM touched)").fetchall()]
    if not extra:
        return
    con.execute("CREATE OR REPLACE TABLE placed AS SELECT * FROM links WHERE method IN ('model', 'steward') "
                "AND (resource_id, record_key) IN (SELECT (resource_id, record_key) FROM changed)")
    table_from_rows(con, "extra", {"subject": pl.String}, [(k,) for k in extra])
    con.execute("INSERT INTO touched SELECT subject FROM extra")
    table_from_rows(con, "more", KEEP, _linked_records(database, kind, extra))
    con.execute("INSERT INTO keep SELECT * FROM more EXCEPT SELECT * FROM keep")
    extract.extract(con, kind, inputs.sources, today, keep="keep")
    _link(con, kind, inputs)
    con.execute("""INSERT INTO links SELECT * FROM placed p WHERE NOT EXISTS (SELECT 1 FROM links l
        WHERE l.resource_id = p.resource_id AND l.record_key = p.record_key AND l.subject = p.subject)""")


def _link(con: duckdb.DuckDBPyConnection, kind: str, inputs: Inputs) -> None:
    """IDs and old codes, then the steward's decisions, then golden values, then wrong IDs (whose
    values are kept out of the golden record, unless a steward said the ID is right)."""
    extract.link_by_keys(con, kind)
    extract.apply_decisions(con, inputs.decisions)
    extract.choose_golden(con, inputs.authorities, inputs.precedence, inputs.elements)
    flagged = extract.flag_wrong_ids(con, kind)
    con.execute("UPDATE links SET suspect = NULL FROM decisions d WHERE d.status = 'same' "
                "AND links.resource_id = d.resource_id AND links.record_key = d.record_key AND links.subject = d.subject")
    if flagged:  # their subjects without the flagged records' values
        con.execute("CREATE OR REPLACE TABLE rechoose AS SELECT DISTINCT subject FROM links WHERE suspect IS NOT NULL")
        extract.choose_golden(con, inputs.authorities, inputs.precedence, inputs.elements, only="rechoose")


def _golden_before(con: duckdb.DuckDBPyConnection, kind: str, inputs: Inputs) -> None:
    """``golden_before``: the registry's last golden records (its own resource's snapshot), with
    the comparison columns: the profiles an incremental update matches new records against."""
    def item(element: str) -> str:
        return f"payload->>{sql_string('$.' + extract._json_name(inputs.items[element]))}"

    key = f"payload->>{sql_string('$.' + extract._json_name(service.key_item_name(kind)))}"
    cols = ", ".join(f"{item(e)} AS {name}" for name, e in FEATURES[kind].items() if e in inputs.items)
    reg = f", {item('DE0023')} AS reg_no" if kind != PERSON and "DE0023" in inputs.items else ", NULL AS reg_no"
    con.execute(f"CREATE OR REPLACE TABLE golden_before AS SELECT {key} AS subject, {cols}{reg} "
                f"FROM read_parquet({sql_string(inputs.previous_golden)})")


def _model(con: duckdb.DuckDBPyConnection, kind: str, inputs: Inputs, engine: str, model_path: Path, train: bool,
           thresholds: Thresholds, incremental: bool, owned: float | None) -> float:
    """Place the records without a usable ID; returns the share of them whose owner is in the
    registry, as estimated (a full build) or as the last full build estimated it (``owned``)."""
    extract.unlinked_features(con, kind)
    con.execute("ALTER TABLE left_records ADD COLUMN lid VARCHAR")
    con.execute("UPDATE left_records SET lid = CAST(resource_id AS VARCHAR) || ':' || record_key")
    if incremental:  # only the changed records, against every subject's last golden record
        con.execute("DELETE FROM left_records WHERE (resource_id, record_key) NOT IN "
                    "(SELECT (resource_id, record_key) FROM changed)")
        if not con.execute("SELECT count(*) FROM left_records").fetchone()[0]:  # every record had its ID
            con.execute("CREATE OR REPLACE TABLE predictions (left_id VARCHAR, subject VARCHAR, probability DOUBLE)")
            return _place(con, thresholds, owned)
        if not extract.table_exists(con, "golden_before"):
            _golden_before(con, kind, inputs)
        division = "substr(subject, 1, 6)" if kind == PERSON else "substr(subject, 3, 6)"
        names = [n for n, e in FEATURES[kind].items() if e != "DE0007"]
        con.execute(f"CREATE OR REPLACE TABLE right_records AS SELECT subject, {', '.join(names)}, "
                    f"{division} AS division FROM golden_before")
    else:
        extract.profiles(con, kind)
    tables = {"left_records": "lid", "right_records": "subject"}
    if train and not incremental:  # true matches to measure the model's m on
        extract.labelled_features(con, kind, linkage.M_LABELS)
        tables["labelled_records"] = "lid"
    features.derive(con, kind, tables)
    linkage.predict(con, kind, engine=engine, model_path=model_path, train=train,
                    threshold=min(linkage.CANDIDATE_FLOOR, thresholds.review))
    return _place(con, thresholds, owned)


def _place(con: duckdb.DuckDBPyConnection, thresholds: Thresholds, owned: float | None) -> float:
    """Model links for clear winners; review items for the grey zone and for wrong IDs. A pair a
    steward decided is out of the model's hands, and out of its record's other candidates' sums.
    An update's few records say little about how many have their owner here: it takes the full
    build's estimate (``owned``). Returns the share used."""
    con.execute("""CREATE OR REPLACE TABLE candidates AS
        SELECT p.left_id, p.subject, p.probability FROM predictions p JOIN left_records l ON l.lid = p.left_id
        WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.resource_id = l.resource_id
                          AND d.record_key = l.record_key AND d.subject = p.subject)""")
    unlinked = con.execute("SELECT count(*) FROM left_records").fetchone()[0]
    owned = linkage.owner_posterior(con, "candidates", unlinked, owned=owned)
    log.info("registry model: %.3f of the unlinked records have their owner in the registry", owned)
    con.execute("""CREATE OR REPLACE TABLE ranked AS
        SELECT l.resource_id, l.record_key, l.claimed, p.subject, p.probability,
               row_number() OVER w AS rn, count(*) FILTER (WHERE p.probability >= ?) OVER w AS strong
        FROM candidates p JOIN left_records l ON l.lid = p.left_id
        WINDOW w AS (PARTITION BY p.left_id ORDER BY p.probability DESC, p.subject)""", [thresholds.auto])
    con.execute("DROP TABLE candidates")
    con.execute("""INSERT INTO links SELECT resource_id, record_key, subject, 'model', probability, NULL FROM ranked
        WHERE rn = 1 AND probability >= ? AND strong = 1 AND claimed IS NULL
          AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.resource_id = ranked.resource_id
                          AND d.record_key = ranked.record_key AND d.status = 'same')""", [thresholds.auto])
    con.execute("""CREATE OR REPLACE TABLE new_reviews AS
        SELECT resource_id, record_key, subject, probability, 'grey' AS reason FROM ranked
        WHERE claimed IS NULL AND rn <= 3 AND probability >= ? AND NOT (rn = 1 AND probability >= ? AND strong = 1)
        UNION ALL
        SELECT resource_id, record_key, subject, probability, 'wrong_id' FROM ranked
        WHERE claimed IS NOT NULL AND subject <> claimed AND rn <= 3 AND probability >= ?
        UNION ALL
        SELECT l.resource_id, l.record_key, l.subject, coalesce(r.probability, 0), 'wrong_id' FROM links l
        LEFT JOIN ranked r ON r.resource_id = l.resource_id AND r.record_key = l.record_key AND r.subject = l.subject
        WHERE l.suspect = 'wrong_id'""", [thresholds.review, thresholds.auto, thresholds.review])
    return owned


def _golden_table(con: duckdb.DuckDBPyConnection, kind: str, inputs: Inputs, out: Path, only_touched: bool) -> int:
    """The golden records, one row per subject, as the registry resource's items; to Parquet."""
    key_item = service.key_item_name(kind)
    cols = ", ".join(f"max(CASE WHEN element = {sql_string(e)} THEN value END) AS {warehouse.quote_identifier(n)}"
                     for e, n in inputs.items.items())
    where = "WHERE golden" + (" AND subject IN (SELECT subject FROM touched)" if only_touched else "")
    subjects = "SELECT DISTINCT subject FROM links" + (" WHERE subject IN (SELECT subject FROM touched)"
                                                        if only_touched else "")
    con.execute(f"""CREATE OR REPLACE TABLE golden_rows AS
        SELECT s.subject AS {warehouse.quote_identifier(key_item)}, g.* EXCLUDE (subject)
        FROM ({subjects}) s LEFT JOIN (SELECT subject, {cols} FROM vals {where} GROUP BY subject) g USING (subject)
        ORDER BY 1""")
    con.execute(f"COPY golden_rows TO {sql_string(str(out))} (FORMAT parquet)")
    return con.execute("SELECT count(*) FROM golden_rows").fetchone()[0]


def _release(con: duckdb.DuckDBPyConnection, memory: str) -> None:
    """Before writing: drop what linking and choosing used and writing does not, and leave
    ``WRITER_MEMORY`` of DuckDB's share to the driver's batches and SQLite's page cache (the
    tables left spill to disk instead), so that the process stays within the warehouse memory
    and 1 GB (at two million people, over 4 GB without)."""
    done = {"attrs", "mentions", "golden_rows", "right_records", "right_records_f", "left_records_f", "m_labels"}
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall():
        if name in done or name.startswith(("__splink__", linkage.LABELLED)):
            con.execute(f"DROP TABLE {warehouse.quote_identifier(name)}")
    limit = max(warehouse.memory_bytes(memory) - WRITER_MEMORY, WRITER_MEMORY)
    con.execute(f"SET memory_limit = '{limit // 2**20}MiB'")


def _history(con: duckdb.DuckDBPyConnection, inputs: Inputs, kind: str, only_touched: bool) -> None:
    """``changes``: golden values that differ from the registry's previous golden records."""
    con.execute("CREATE OR REPLACE TABLE changes (subject VARCHAR, element VARCHAR, old VARCHAR, new VARCHAR, "
                "resource_id INTEGER, load_id INTEGER)")
    if not inputs.previous_golden:
        return
    items = [service.key_item_name(kind), *inputs.items.values()]
    paths = ", ".join(sql_string("$." + extract._json_name(n)) for n in items)  # each record parsed once
    structs = ", ".join(f"{{'element': {sql_string(e)}, 'value': j[{i + 2}]}}" for i, e in enumerate(inputs.items))
    # the golden records' key is the subject's: an update parses only the records it touched
    only = "WHERE __key IN (SELECT subject FROM touched)" if only_touched else ""
    con.execute(f"""CREATE OR REPLACE TABLE before AS SELECT subject, element, value FROM (
        SELECT j[1] AS subject, unnest([{structs}], recursive := true)
        FROM (SELECT json_extract_string(payload, [{paths}]) AS j FROM read_parquet({sql_string(inputs.previous_golden)})
              {only}))""")
    con.execute(f"""INSERT INTO changes
        SELECT coalesce(n.subject, b.subject), coalesce(n.element, b.element), b.value, n.value, n.resource_id, n.load_id
        FROM (SELECT subject, element, value, resource_id, load_id FROM vals WHERE golden) n
        FULL JOIN (SELECT * FROM before WHERE value IS NOT NULL) b USING (subject, element)
        WHERE n.value IS DISTINCT FROM b.value
          AND coalesce(n.subject, b.subject) IN (SELECT subject FROM {'touched' if only_touched else 'links'})""")


_ALL_IDS = Prepared(select(Subject.key, Subject.id).where(Subject.kind == bindparam("kind"),
                                                         Subject.id > bindparam("after")))


def _subject_ids(session: Session, con: duckdb.DuckDBPyConnection, kind: str, keys: list[str] | None,
                 after: int | None = None) -> None:
    """``subject_ids`` (subject, id): every subject of ``kind``, or those of ``keys``; with
    ``after``, those with a greater id are added to it. Read in partitions, so that a province's
    millions of subjects never sit in Python at once."""
    if after is None:
        con.execute("CREATE OR REPLACE TABLE subject_ids (subject VARCHAR, id BIGINT)")
    if keys is None:
        _all_ids(session, con, {"kind": kind, "after": after or 0})
        return
    stmt = select(Subject.key, Subject.id).where(Subject.kind == kind)
    if after is not None:
        stmt = stmt.where(Subject.id > after)
    for chunk in _chunks(keys):
        table_from_rows(con, "subject_ids", IDS, session.execute(stmt.where(Subject.key.in_(chunk))).all(), append=True)


def _all_ids(session: Session, con: duckdb.DuckDBPyConnection, params: dict) -> None:
    """Every subject's id, read at the driver level on the unit of work's connection (the ORM's
    rows took five times as long: 1.4 s for half a million against 0.28 s); on PostgreSQL through
    a server-side cursor, so that the rows arrive a partition at a time there too."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    postgres = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name="datong_subject_ids") if postgres else driver.cursor()
    try:
        cursor.execute(_ALL_IDS.sql(connection.dialect), params)
        while rows := cursor.fetchmany(ID_PARTITION):
            table_from_rows(con, "subject_ids", IDS, rows, append=True)
    finally:
        cursor.close()


def _ensure_subjects(session: Session, con: duckdb.DuckDBPyConnection, kind: str, bulk: Bulk,
                     incremental: bool) -> None:
    """Subject ids are kept across builds: new keys get new rows, known keys keep theirs. An
    update looks up only the subjects it writes or puts up for review."""
    written = "touched" if incremental else "links"
    keys = [r[0] for r in con.execute("SELECT subject FROM touched UNION SELECT subject FROM new_reviews")
            .fetchall()] if incremental else None
    _subject_ids(session, con, kind, keys)
    last = session.scalar(select(func.max(Subject.id))) or 0
    now = sql_string(bulk.time_text(utcnow()))
    bulk.copy_query(con, f"SELECT {sql_string(kind)}, subject, {now}, {now} FROM "
                         f"(SELECT DISTINCT subject FROM {written}) ANTI JOIN subject_ids USING (subject) ORDER BY subject",
                    "registry_subjects", ("kind", "key", "created_at", "updated_at"))
    _subject_ids(session, con, kind, keys, after=last)  # the new ones: the known ones are read already


def _clear(session: Session, kind: str, inputs: Inputs, con: duckdb.DuckDBPyConnection, incremental: bool,
           scope: Scope | None) -> None:
    if not incremental:
        ids = select(Subject.id).where(Subject.kind == kind).scalar_subquery()
        for model in (Profile, Name, Link):
            session.execute(delete(model).where(model.subject_id.in_(ids)))
        return
    touched = [r[0] for r in con.execute("SELECT id FROM subject_ids SEMI JOIN touched USING (subject)").fetchall()]
    for chunk in _chunks(touched):
        for model in (Profile, Name, Link):
            session.execute(delete(model).where(model.subject_id.in_(chunk)))
    if scope is not None:  # a changed record that now links nowhere loses its old links
        keys = [r[0] for r in con.execute("SELECT record_key FROM changed").fetchall()]
        for start in range(0, len(keys), 500):
            session.execute(delete(Link).where(Link.resource_id == scope.resource_id,
                                               Link.record_key.in_(keys[start:start + 500])))


def _write(session: Session, con: duckdb.DuckDBPyConnection, kind: str, inputs: Inputs, incremental: bool,
           scope: Scope | None) -> int:
    """Everything but the golden records' load, in the caller's transaction; returns how many
    review items are new."""
    bulk = Bulk(session)
    with bulk.large_cache():
        return _write_rows(session, con, kind, inputs, bulk, incremental, scope)


def _write_rows(session: Session, con: duckdb.DuckDBPyConnection, kind: str, inputs: Inputs, bulk: Bulk,
                incremental: bool, scope: Scope | None) -> int:
    _ensure_subjects(session, con, kind, bulk, incremental)
    # a full build rewrites every link and name of its kind: their indexes are built once after
    with bulk.indexes_rebuilt(session, [] if incremental else [Link.__table__, Name.__table__]):
        _clear(session, kind, inputs, con, incremental, scope)
        _write_subject_rows(con, bulk, incremental)
    now = sql_string(bulk.time_text(utcnow()))
    bulk.copy_query(con, f"""SELECT i.id, c.element, c.old, c.new, c.resource_id, c.load_id, {now}
        FROM changes c JOIN subject_ids i USING (subject)""",
                    "registry_changes", ("subject_id", "element", "old", "new", "resource_id", "load_id", "at"))
    existing = session.execute(select(Review.resource_id, Review.record_key, Review.subject_id)
                               .where(Review.kind == kind)).all()
    table_from_rows(con, "known_reviews", {"resource_id": pl.Int32, "record_key": pl.String, "id": pl.Int64}, existing)
    added = con.execute("""CREATE OR REPLACE TABLE reviews_out AS
        SELECT DISTINCT ON (r.resource_id, r.record_key, i.id) r.resource_id, r.record_key, i.id AS subject_id,
               r.probability, r.reason
        FROM new_reviews r JOIN subject_ids i USING (subject)
        WHERE NOT EXISTS (SELECT 1 FROM known_reviews k WHERE k.resource_id = r.resource_id
                          AND k.record_key = r.record_key AND k.id = i.id)
        ORDER BY r.resource_id, r.record_key, i.id, r.reason""").fetchone()
    bulk.copy_query(con, f"""SELECT {sql_string(kind)}, resource_id, record_key, subject_id, probability, reason,
               'pending', '', {now} FROM reviews_out""",
                    "registry_reviews", ("kind", "resource_id", "record_key", "subject_id", "probability", "reason",
                                         "status", "note", "created_at"))
    del added
    return con.execute("SELECT count(*) FROM reviews_out").fetchone()[0]


def _write_subject_rows(con: duckdb.DuckDBPyConnection, bulk: Bulk, incremental: bool) -> None:
    """Links, provenance documents and searched names of the subjects written."""
    only = " WHERE subject IN (SELECT subject FROM touched)" if incremental else ""
    bulk.copy_query(con, f"""SELECT i.id, l.resource_id, l.record_key, l.method, l.probability, l.suspect
        FROM (SELECT * FROM links{only}) l JOIN subject_ids i USING (subject) ORDER BY l.resource_id, l.record_key, i.id""",
                    "registry_links", ("subject_id", "resource_id", "record_key", "method", "probability", "suspect"))
    extract.profile_rows(con)
    stamp = sql_string(bulk.time_text(utcnow()))
    bulk.copy_query(con, f"""SELECT i.id, p.attributes, p.disagreements, {stamp}
        FROM (SELECT * FROM profile_rows{only}) p JOIN subject_ids i USING (subject) ORDER BY i.id""",
                    "registry_profiles", ("subject_id", "attributes", "disagreements", "updated_at"))
    searched = ", ".join(sql_string(e) for e in SEARCHED)
    bulk.copy_query(con, f"""SELECT i.id, v.element, left(v.value, 200)
        FROM (SELECT * FROM vals{only}) v JOIN subject_ids i USING (subject)
        WHERE v.golden AND v.element IN ({searched}) ORDER BY i.id, v.element""",
                    "registry_names", ("subject_id", "element", "value"))


def _disagreements(session: Session, con: duckdb.DuckDBPyConnection, inputs: Inputs, kind: str) -> int:
    """Per source resource and item: values that differ from a golden value its authoritative
    source gave. Each becomes (or updates) a rectification issue for the provider."""
    items = {}
    for s in inputs.sources:
        for name, element in s.attributes:
            items[(s.resource_id, element)] = name
    rows = con.execute("""
        SELECT v.resource_id, v.element, count(*) AS n,
               list({'key': v.record_key, 'value': v.value, 'golden': g.value, 'subject': v.subject}
                    ORDER BY v.record_key)[1:5] AS samples
        FROM vals v JOIN vals g ON g.subject = v.subject AND g.element = v.element AND g.golden
        WHERE NOT v.agrees AND g.rule = 'authoritative' GROUP BY v.resource_id, v.element""").fetchall()
    found = {(rid, element): (n, samples) for rid, element, n, samples in rows}
    service.record_disagreements(session, kind, inputs.registry_code, inputs.items, found,
                                 [s.resource_id for s in inputs.sources], items)
    return sum(n for n, _ in found.values())


def _figures(con: duckdb.DuckDBPyConnection) -> dict:
    """What a full build found, for the statistics page: coverage of each attribute, how golden
    values were chosen, how records were linked, and each source's linked records."""
    return {
        "subjects": con.execute("SELECT count(DISTINCT subject) FROM links").fetchone()[0],
        "coverage": dict(con.execute("SELECT element, count(*) FROM vals WHERE golden GROUP BY element").fetchall()),
        "rules": dict(con.execute("SELECT rule, count(*) FROM vals WHERE golden GROUP BY rule").fetchall()),
        "methods": dict(con.execute("SELECT method, count(*) FROM links GROUP BY method").fetchall()),
        "linked": {str(r): n for r, n in con.execute(
            "SELECT resource_id, count(DISTINCT record_key) FROM links GROUP BY resource_id").fetchall()},
        "wrong_ids": con.execute("SELECT count(*) FROM links WHERE suspect IS NOT NULL").fetchone()[0],
    }


def _last_owned(database: Database, kind: str) -> float | None:
    """The share of owned records the last full build estimated (None before the first one)."""
    with database.reading() as session:
        figures = session.scalar(select(Build.figures).where(Build.kind == kind, Build.mode == "full")
                                 .order_by(Build.id.desc()).limit(1))
    return (figures or {}).get("owned")


def _report(con: duckdb.DuckDBPyConnection, report: BuildReport, only_touched: bool) -> None:
    where = " WHERE subject IN (SELECT subject FROM touched)" if only_touched else ""
    report.linked = dict(con.execute(f"SELECT method, count(*) FROM links{where} GROUP BY method").fetchall())
    report.wrong_ids = con.execute(f"SELECT count(*) FROM links WHERE suspect IS NOT NULL"
                                   f"{' AND subject IN (SELECT subject FROM touched)' if only_touched else ''}").fetchone()[0]
    report.unlinked = con.execute("""SELECT count(*) FROM left_records l WHERE claimed IS NULL AND NOT EXISTS (
        SELECT 1 FROM links k WHERE k.resource_id = l.resource_id AND k.record_key = l.record_key)""").fetchone()[0]
    report.records = con.execute(f"SELECT count(DISTINCT (resource_id, record_key)) FROM links{where}").fetchone()[0]
    report.changed = con.execute("SELECT count(*) FROM changes").fetchone()[0]


def run_build(database: Database, actor: Actor, *, kind: str, engine: str = "duckdb", scope: Scope | None = None,
              thresholds: Thresholds | None = None, progress: Progress | None = None, train: bool | None = None,
              today: date | None = None) -> BuildReport:
    """Build the registry of ``kind`` (person or entity) from every source, or, with ``scope``,
    update the subjects one load touched. Returns what was done."""
    started = time.perf_counter()
    thresholds = thresholds or Thresholds(*database.registry_thresholds)
    step = progress or (lambda phase, done, total: None)
    with database.unit_of_work() as session:
        authorize(actor, "registry.build", Target("registry", kind))
        service.ensure_registry_resource(session, actor, kind)
    inputs = _inputs(database, kind, scope)
    incremental = scope is not None
    report = BuildReport(kind, "incremental" if incremental else "full")
    if incremental and not inputs.built:
        return report  # nothing to update before the first build
    step("read", 1, len(PHASES))
    folder = database.data_dir / "registry"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    out = folder / f"golden-{kind}-{time.time_ns()}.parquet"
    with warehouse.session(database.data_dir / "work" / "duckdb", memory=database.warehouse_memory) as con:
        con.execute("SET preserve_insertion_order = false")  # every output that needs an order says so
        today = today or date.today()
        if inputs.previous_golden and kind != PERSON:  # old codes known to the registry (see link_by_keys)
            _golden_before(con, kind, inputs)
        if incremental and inputs.previous_golden:
            _changed_records(con, scope)
            _scope(database, con, kind, inputs, scope, today)
            extract.extract(con, kind, inputs.sources, today, keep="keep")
        else:
            incremental = False  # no golden records yet to update: build them all
            report.mode = "full"
            extract.extract(con, kind, inputs.sources, today)
        _link(con, kind, inputs)
        step("link", 2, len(PHASES))
        report.owned = _model(con, kind, inputs, engine, folder / f"model-{kind}.json",
                              train if train is not None else not incremental, thresholds, incremental,
                              _last_owned(database, kind) if incremental else None)
        if incremental:
            _widen(database, con, kind, inputs, today)
        # the subjects the model gave records to (the others' values are as the IDs linked them)
        con.execute("CREATE OR REPLACE TABLE rechoose AS SELECT DISTINCT subject FROM links WHERE method = 'model'")
        extract.choose_golden(con, inputs.authorities, inputs.precedence, inputs.elements, only="rechoose")
        step("model", 3, len(PHASES))
        if incremental:
            con.execute("DELETE FROM vals WHERE subject NOT IN (SELECT subject FROM touched)")
        _history(con, inputs, kind, incremental)
        report.subjects = _golden_table(con, kind, inputs, out, incremental)
        _release(con, database.warehouse_memory)
        with database.unit_of_work() as session:
            report.reviews_added = _write(session, con, kind, inputs, incremental, scope)
            report.disagreements = _disagreements(session, con, inputs, kind) if not incremental else 0
            _report(con, report, incremental)
            session.add(Build(kind=kind, mode=report.mode, actor=actor.name,
                              figures=(_figures(con) if not incremental else
                                       {"linked": report.linked, "subjects": report.subjects}) | {"owned": report.owned}))
            append_event(session, actor=actor, action="registry.build", target=f"registry:{kind}",
                         detail={"mode": report.mode, "subjects": report.subjects, "linked": report.linked,
                                 "reviews_added": report.reviews_added, "changed": report.changed})
    step("write", 4, len(PHASES))
    try:
        if report.subjects or not incremental:
            load = run_load(database, actor, resource_code=inputs.registry_code,
                            source=LoadSource.from_path(out, label=f"registry:{kind}"),
                            mode="incremental" if incremental else "full", allow_deletes=True)
            report.load_id = load.id
    finally:
        out.unlink(missing_ok=True)
    step("load", 5, len(PHASES))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


__all__ = ["BuildReport", "Scope", "Thresholds", "run_build"]
