"""What the hub keeps on disk is readable by its own user only: the data dir and the folders in it
0700, the SQLite database, its audit chain and the load snapshots 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from datong.db.engine import audit_path
from tests.helpers import POPULATION_HEADER, population_rows
from tests.ingest.conftest import population  # noqa: F401 - the fixture


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_database_and_snapshots_are_private(client, login, settings, database, population):
    body = "\n".join(",".join(r) for r in [POPULATION_HEADER, *population_rows(3)]) + "\n"
    answer = client.post(f"/api/v1/resources/{population}/loads", headers=login("dadmin"),
                         files={"file": ("people.csv", body.encode())})
    assert answer.status_code == 201, answer.text
    assert mode(settings.data_dir) == 0o700
    snapshots = list((settings.data_dir / "snapshots").rglob("*.parquet"))
    assert snapshots and all(mode(p) == 0o600 and mode(p.parent) == 0o700 for p in snapshots)
    if settings.database_url.startswith("sqlite"):
        main = Path(make_url(settings.database_url).database)
        files = [main, Path(audit_path(str(main)))]
        files += [Path(f"{f}-wal") for f in files if Path(f"{f}-wal").exists()]
        assert len(files) >= 3 and all(mode(f) == 0o600 for f in files), {str(f): oct(mode(f)) for f in files}


def test_a_fresh_sqlite_database_is_created_private(tmp_path):
    from datong.db.engine import make_engine

    folder = tmp_path / "new" / "place"
    engine = make_engine(f"sqlite:///{folder / 'hub.db'}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x)")
    engine.dispose()
    assert mode(folder) == 0o700 and mode(folder / "hub.db") == 0o600 and mode(folder / "hub-audit.db") == 0o600
