"""The same model on Apache Spark (local mode) places the same records as on DuckDB."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from datong.registry import linkage
from datong.registry.flows import run_build
from datong.registry.models import Link, Review, Subject

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 (apt-get install openjdk-17-jre-headless)")


def _placed(database) -> tuple[set, set]:
    with database.reading() as session:
        links = set(session.execute(select(Link.record_key, Subject.key, Link.method, Link.suspect)
                                    .join(Subject, Subject.id == Link.subject_id)).all())
        reviews = set(session.execute(select(Review.record_key, Subject.key, Review.reason)
                                      .join(Subject, Subject.id == Review.subject_id)).all())
    return links, reviews


def test_spark_gives_the_same_links_as_duckdb(database, operator, province, monkeypatch):
    if database.dialect != "sqlite":
        pytest.skip("the linkage engine is the subject here, not the store: once is enough")
    # the province's few applicants with IDs are enough here to measure m on each engine
    monkeypatch.setattr(linkage, "M_LABELS_MIN", 1)
    run_build(database, operator, kind="person", engine="duckdb")
    measured = json.loads((database.data_dir / "registry" / "model-person.json").read_text(encoding="utf-8"))
    on_duckdb = _placed(database)
    run_build(database, operator, kind="person", engine="spark", train=True)
    assert _placed(database) == on_duckdb
    on_spark = json.loads((database.data_dir / "registry" / "model-person.json").read_text(encoding="utf-8"))
    assert _m(on_spark) == pytest.approx(_m(measured))
    assert _m(measured) != _m(json.loads(json.dumps(linkage.model_settings("person", 8).create_settings_dict("duckdb"))))


def _m(model: dict) -> list[float]:
    return [level["m_probability"] for comparison in model["comparisons"]
            for level in comparison["comparison_levels"] if not level.get("is_null_level")]
    assert any(method == "model" for _, _, method, _ in on_duckdb[0])
