"""A record has one owner at most: its candidates' pair scores are weighed against each other."""

import duckdb
import pytest

from datong.registry.linkage import OWNED_BOUNDS, owner_posterior


def _scene(pairs: list[tuple[str, str, float]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE candidates (left_id VARCHAR, subject VARCHAR, probability DOUBLE)")
    con.executemany("INSERT INTO candidates VALUES (?, ?, ?)", pairs)
    return con


def _owners(con) -> dict[tuple[str, str], float]:
    return {(r, s): p for r, s, p in con.execute("SELECT left_id, subject, probability FROM candidates").fetchall()}


def test_one_plausible_candidate_is_the_owner_and_two_look_alikes_are_neither():
    # Forty records each with one candidate at 0.8 (one in four pairs like it is not a match),
    # one record with two equally good candidates, and no record without a candidate.
    pairs = [(f"r{i}", f"s{i}", 0.8) for i in range(40)] + [("r40", "a", 0.8), ("r40", "b", 0.8)]
    con = _scene(pairs)
    owned = owner_posterior(con, "candidates", 41)
    owners = _owners(con)
    assert owned == pytest.approx(OWNED_BOUNDS[1], abs=0.02)  # nearly every record has its owner here
    assert all(owners[(f"r{i}", f"s{i}")] > 0.95 for i in range(40))
    assert owners[("r40", "a")] < 0.5 and owners[("r40", "b")] < 0.5
    assert owners[("r40", "a")] + owners[("r40", "b")] <= 1.0


def test_when_most_records_have_no_owner_here_a_lone_candidate_is_not_taken_for_one():
    # Ten records with a candidate at 0.8, ninety with none at all: most owners are elsewhere.
    con = _scene([(f"r{i}", f"s{i}", 0.8) for i in range(10)])
    owned = owner_posterior(con, "candidates", 100)
    assert owned < 0.2
    assert all(p < 0.8 for p in _owners(con).values())  # below the pair's own score, and well below 0.95


def test_a_certain_pair_stays_certain_and_weak_ones_stay_weak():
    con = _scene([("r0", "s0", 0.999999), ("r1", "s1", 0.001), ("r1", "s2", 0.002)])
    owner_posterior(con, "candidates", 2)
    owners = _owners(con)
    assert owners[("r0", "s0")] > 0.999
    assert owners[("r1", "s1")] < 0.01 and owners[("r1", "s2")] < 0.01


def test_an_update_weighs_its_few_records_with_the_share_it_is_given():
    # One record with one candidate: alone it would make its own share of owned records 0.99.
    con = _scene([("r0", "s0", 0.8)])
    assert owner_posterior(con, "candidates", 1, owned=0.1) == 0.1
    assert _owners(con)[("r0", "s0")] == pytest.approx(0.1 * 4 / (0.9 + 0.1 * 4))
