"""The probabilistic link (Splink): records with no usable ID against the registry's subjects.

The model compares derived columns (``features``): the name as written, with term-frequency
adjustment, then its toneless pinyin, then shared characters; the birth date exactly, with day
and month swapped, or one digit off; sex; the division code by prefix; the address; the phone.
Each level starts from a prior m probability, so a model that has seen little data is still
sensible; a full build then measures m on the records their IDs linked (true matches, see
``_measure_m``) and u by random sampling of the registry's own data (see ``_train``). The
trained model is saved and reused by incremental updates, so only a full build trains.

Engine-specific code is in ``engines``; the same settings run on DuckDB and on Spark.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import duckdb
import splink.comparison_level_library as cll
from splink import Linker, SettingsCreator, block_on
from splink.internals.comparison_library import CustomComparison

from datong.registry import engines, extract
from datong.registry.spec import PERSON

log = logging.getLogger(__name__)

#: Enough subjects for random pairs to say how often values agree by chance.
U_MIN_RECORDS = 1_000
#: Pairs scored at least this are kept as candidates: a record's candidates share its one owner
#: (``owner_posterior``), so the weak ones count too, not only those in the review zone.
CANDIDATE_FLOOR = 0.001
#: The share of unlinked records that belong to a registry subject is estimated within these bounds.
OWNED_BOUNDS = (0.05, 0.99)
#: Records linked by their IDs on which m is measured: at most this many, and at least this many
#: for the measure to be used at all.
M_LABELS = 100_000
M_LABELS_MIN = 50
#: How much the prior m probabilities weigh against the measured ones, in pairs.
M_PRIOR_PAIRS = 100
LABELLED = "labelled_records"


def _custom(condition: str, label: str):
    return cll.CustomLevel(condition, label, base_dialect_str="duckdb")


def _date(column: str) -> CustomComparison:
    return CustomComparison(output_column_name=column, comparison_levels=[
        cll.NullLevel(column),
        cll.ExactMatchLevel(column),
        _custom(f"{column}_swap_l = {column}_r", "day and month swapped"),
        cll.DamerauLevenshteinLevel(column, 1),  # digits only: bytes are characters here
        _custom(f"substr({column}_l, 1, 4) = substr({column}_r, 1, 4)", "same year"),
        cll.ElseLevel(),
    ]).configure(m_probabilities=[0.86, 0.03, 0.06, 0.03, 0.02],
                 u_probabilities=[0.00005, 0.00005, 0.0005, 0.02, 0.9794])


def _name(column: str, tf: bool) -> CustomComparison:
    exact = cll.ExactMatchLevel(column)
    if tf:
        exact = exact.configure(tf_adjustment_column=column)
    return CustomComparison(output_column_name=column, comparison_levels=[
        cll.NullLevel(column),
        exact,
        cll.ExactMatchLevel(f"{column}_py").configure(label_for_charts="same pinyin"),
        cll.LevenshteinLevel(f"{column}_py", 2),  # pinyin is ASCII: bytes are characters here
        cll.ArrayIntersectLevel(f"{column}_chars", 2) if column == "name" else _custom(
            f"substr({column}_l, 1, 1) = substr({column}_r, 1, 1)", "same surname"),
        cll.ElseLevel(),
    ]).configure(m_probabilities=[0.85, 0.07, 0.03, 0.03, 0.02],
                 u_probabilities=[0.001, 0.0005, 0.002, 0.01, 0.9865])


def _division() -> CustomComparison:
    return CustomComparison(output_column_name="division", comparison_levels=[
        cll.NullLevel("division"),
        cll.ExactMatchLevel("division"),
        _custom("substr(division_l, 1, 4) = substr(division_r, 1, 4)", "same city"),
        _custom("substr(division_l, 1, 2) = substr(division_r, 1, 2)", "same province"),
        cll.ElseLevel(),
    ]).configure(m_probabilities=[0.7, 0.15, 0.1, 0.05], u_probabilities=[0.01, 0.05, 0.3, 0.64])


def _exact(column: str, m_same: float, u_same: float) -> CustomComparison:
    return CustomComparison(output_column_name=column, comparison_levels=[
        cll.NullLevel(column), cll.ExactMatchLevel(column), cll.ElseLevel()]).configure(
        m_probabilities=[m_same, 1 - m_same], u_probabilities=[u_same, 1 - u_same])


def model_settings(kind: str, subjects: int) -> SettingsCreator:
    """The model for a registry of this many subjects. The prior that a random pair is a match is
    about one over that; names are weighed by how common they are once there are enough of them
    to count (in a handful of records every name is rare)."""
    expected_share = 1.0 / max(subjects, 1)
    tf = subjects >= U_MIN_RECORDS
    if kind == PERSON:
        comparisons = [_name("name", tf), _date("birth"), _exact("sex", 0.98, 0.5), _division(),
                       _exact("address", 0.6, 0.0005), _exact("phone", 0.7, 0.0005)]
        blocking = [block_on("birth", "sex"), block_on("name_py", "birth_year"), block_on("phone"),
                    block_on("name_py", "division")]
    else:
        comparisons = [_name("name", tf), _name("legal_rep", False), _date("founded"), _division()]
        blocking = [block_on("name_py"), block_on("legal_rep_py", "founded"), block_on("founded", "division")]
    return SettingsCreator(link_type="link_only", unique_id_column_name="unique_id", comparisons=comparisons,
                           blocking_rules_to_generate_predictions=blocking,
                           probability_two_random_records_match=min(max(expected_share, 1e-9), 0.5),
                           retain_intermediate_calculation_columns=False, retain_matching_columns=False)


def _train(linker: Linker, subjects: int) -> None:
    """u from random pairs of this registry's own data; m stays at the priors. EM was tried and
    left out: in link-only mode against a whole registry a level no pair falls into gets m = 0,
    which Splink rightly refuses, and EM over all pairs is where a naive run spends most of its
    time. The priors say how often a true match differs in each way (typo rates), which the
    synthetic benchmark checks by defect kind."""
    if subjects >= U_MIN_RECORDS:
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2026)


def _compared_pairs(con: duckdb.DuckDBPyConnection, columns: list[str]) -> dict[str, int]:
    """Per comparison column, the labelled pairs in which both records have a value."""
    counts = ", ".join(f"count(*) FILTER (WHERE l.{c} IS NOT NULL AND r.{c} IS NOT NULL)" for c in columns)
    row = con.execute(f"""SELECT {counts} FROM {LABELLED}_f l JOIN {LABELLED} x ON x.lid = l.unique_id
        JOIN {LABELLED}_subjects_f r ON r.unique_id = x.label""").fetchone()
    return dict(zip(columns, row))


def _measure_m(con: duckdb.DuckDBPyConnection, backend, settings: SettingsCreator) -> SettingsCreator | dict:
    """The model with each level's m measured on true matches: the records of the same resources
    that their valid IDs linked (``labelled_records``, see ``extract.labelled_features``) against
    their subjects' golden records. The priors' guesses at typo rates give way to the rates the
    departments' data has: where no record is one digit off in its birth date, a namesake born
    one digit away no longer competes with a record whose day and month were swapped. Each level's
    measure is blended with its prior as if the prior were ``M_PRIOR_PAIRS`` pairs, so a level no
    labelled pair fell into keeps a small m rather than none. Too few labelled records: the priors."""
    if not extract.table_exists(con, f"{LABELLED}_f") or \
            con.execute(f"SELECT count(*) FROM {LABELLED}_f").fetchone()[0] < M_LABELS_MIN:
        return settings
    # their subjects alone: every other subject would only be read and never compared
    con.execute(f"""CREATE OR REPLACE TABLE {LABELLED}_subjects_f AS
        SELECT * FROM right_records_f WHERE unique_id IN (SELECT label FROM {LABELLED})""")
    con.execute(f"""CREATE OR REPLACE TABLE m_labels AS
        SELECT '{LABELLED}_f' AS source_dataset_l, lid AS unique_id_l,
               '{LABELLED}_subjects_f' AS source_dataset_r, label AS unique_id_r FROM {LABELLED}""")
    priors = settings.create_settings_dict(backend.dialect)
    unknown = copy.deepcopy(priors)  # a level no labelled pair fell into then has no m, not its prior
    for comparison in unknown["comparisons"]:
        for level in comparison["comparison_levels"]:
            level.pop("m_probability", None)
    training = Linker(backend.tables([f"{LABELLED}_f", f"{LABELLED}_subjects_f"]), unknown, log_level=logging.WARNING)
    training.training.estimate_m_from_pairwise_labels(backend.tables(["m_labels"])[0])
    measured = training.misc.save_model_to_json()
    _blend(priors, measured, _compared_pairs(con, [c["output_column_name"] for c in measured["comparisons"]]))
    log.info("registry model: m measured on %s records linked by their IDs",
             con.execute(f"SELECT count(*) FROM {LABELLED}").fetchone()[0])
    return measured


def _blend(priors: dict, measured: dict, pairs: dict[str, int]) -> None:
    """Each level's m in ``measured`` becomes (n·measured + k·prior) / (n + k), n being the pairs
    compared on that column and k ``M_PRIOR_PAIRS``; a level Splink saw no pair in has none."""
    for prior, comparison in zip(priors["comparisons"], measured["comparisons"], strict=True):
        n = pairs[comparison["output_column_name"]]
        levels = [(p["m_probability"], level) for p, level in zip(prior["comparison_levels"],
                                                                  comparison["comparison_levels"], strict=True)
                  if not level.get("is_null_level")]
        blended = [(n * (level.get("m_probability") or 0.0) + M_PRIOR_PAIRS * m) / (n + M_PRIOR_PAIRS)
                   for m, level in levels]
        total = sum(blended)
        for (_, level), value in zip(levels, blended):
            level["m_probability"] = value / total


def predict(con: duckdb.DuckDBPyConnection, kind: str, *, engine: str, model_path: Path | None,
            train: bool, threshold: float) -> int:
    """``predictions`` (left_id, subject, probability) between ``left_records_f`` and
    ``right_records_f``; returns how many pairs scored at least ``threshold``."""
    left = con.execute("SELECT count(*) FROM left_records_f").fetchone()[0]
    right = con.execute("SELECT count(*) FROM right_records_f").fetchone()[0]
    con.execute("CREATE OR REPLACE TABLE predictions (left_id VARCHAR, subject VARCHAR, probability DOUBLE)")
    if not left or not right:
        return 0
    saved = model_path is not None and model_path.exists() and not train
    settings = json.loads(model_path.read_text(encoding="utf-8")) if saved else model_settings(kind, right)
    if not saved:  # on an engine of its own: its tables are registered under the same names
        with engines.open_engine(engine, con) as trainer:
            settings = _measure_m(con, trainer, settings)
    with engines.open_engine(engine, con) as backend:
        frames = backend.tables(["left_records_f", "right_records_f"])
        linker = Linker(frames, settings, log_level=logging.WARNING)
        if not saved:
            _train(linker, right)
            if model_path is not None:
                model_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                linker.misc.save_model_to_json(str(model_path), overwrite=True)
        scored = linker.inference.predict(threshold_match_probability=threshold)
        backend.into(scored, "scored")
    con.execute("""INSERT INTO predictions
        SELECT CASE WHEN source_dataset_l = 'left_records_f' THEN unique_id_l ELSE unique_id_r END,
               CASE WHEN source_dataset_l = 'left_records_f' THEN unique_id_r ELSE unique_id_l END,
               match_probability FROM scored""")
    con.execute("DROP TABLE scored")
    return con.execute("SELECT count(*) FROM predictions").fetchone()[0]


def owner_posterior(con: duckdb.DuckDBPyConnection, candidates: str, records: int, *, owned: float | None = None,
                    rounds: int = 25) -> float:
    """Turn each pair's probability in table ``candidates`` (left_id, subject, probability), made
    with a pairwise prior of one over the registry's size, into the probability that this subject
    is the record's owner, knowing that a record has at most one owner. Splink scores each pair
    on its own; but a record with a single plausible candidate is far more likely to be that
    person's than its pairwise probability says (the only alternative is that its owner is not in
    the registry at all), and a record with two plausible candidates is less likely to be either's.

    With pairwise odds o = p / (1 - p) (the pair's Bayes factor times one over the registry size)
    and π the share of these records whose owner is in the registry, the owner's probability is
    π·o / ((1 − π) + π·Σ o) over the record's candidates. π is estimated from the records
    themselves by EM (the mean, over the ``records`` unlinked records, of their candidates'
    probabilities summed), within ``OWNED_BOUNDS``, unless ``owned`` gives it. Rewrites
    ``probability``; returns π."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _odds AS
        SELECT left_id, subject, least(probability, 1 - 1e-12) / (1 - least(probability, 1 - 1e-12)) AS o
        FROM {candidates}""")
    con.execute("CREATE OR REPLACE TEMP TABLE _sums AS SELECT left_id, sum(o) AS s FROM _odds GROUP BY left_id")
    low, high = OWNED_BOUNDS
    estimating = owned is None
    owned = 0.5 if estimating else min(max(owned, low), high)
    for _ in range(rounds if estimating else 0):
        found = con.execute("SELECT coalesce(sum(? * s / ((1 - ?) + ? * s)), 0) FROM _sums",
                            [owned, owned, owned]).fetchone()[0]
        estimate = min(max(found / max(records, 1), low), high)
        if abs(estimate - owned) < 1e-4:
            owned = estimate
            break
        owned = estimate
    con.execute(f"""CREATE OR REPLACE TABLE {candidates} AS
        SELECT o.left_id, o.subject, ? * o.o / ((1 - ?) + ? * s.s) AS probability
        FROM _odds o JOIN _sums s USING (left_id)""", [owned, owned, owned])
    con.execute("DROP TABLE _odds")
    con.execute("DROP TABLE _sums")
    return owned
