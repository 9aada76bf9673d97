"""Bring a database to a usable state: the newest schema and the standard dictionary."""

from __future__ import annotations

from dataclasses import dataclass

from datong.catalog.service import install_standard_dictionary
from datong.db import Database
from datong.db.migrate import upgrade_to_head
from datong.quality.service import install_standard_rules
from datong.security.authz import Actor


@dataclass(frozen=True)
class Initialised:
    revision_before: str | None
    revision: str
    dictionary_added: int


def initialise(database: Database, actor: Actor) -> Initialised:
    before, after = upgrade_to_head(database.engine)
    with database.unit_of_work() as session:
        added = install_standard_dictionary(session, actor)
        install_standard_rules(session, actor)
    return Initialised(before, after, added)
