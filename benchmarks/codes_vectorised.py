"""Throughput of the ID-number and credit-code checks: scalar Python (the baseline) against the
DuckDB macro and the Polars expression, on the same rows in the same process.

Prints one JSON object; compare the ratios, not the absolute rates (the machines are shared).
Usage: python benchmarks/codes_vectorised.py [ROWS]
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from datetime import date

import duckdb
import polars as pl

from datong.codes import validate_credit_code, validate_id_number
from datong.codes import credit_code, id_number
from datong.codes.divisions import all_codes
from datong.codes.vectorised import credit_reason_expr, credit_reason_sql, id_reason_expr, id_reason_sql, install_macros

TODAY = date(2026, 11, 23)


def make_ids(rows: int, rng: random.Random) -> list[str]:
    divisions = sorted(all_codes())
    out = []
    for i in range(rows):
        first17 = f"{rng.choice(divisions)}{rng.randint(1930, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        value = first17 + id_number.check_character(first17)
        out.append(value if i % 10 else value[:17] + "0")  # about one in ten with a wrong check
    return out


def make_codes(rows: int, rng: random.Random) -> list[str]:
    divisions = sorted(all_codes())
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return [credit_code.make_credit_code("9", "1", rng.choice(divisions), "".join(rng.choices(alphabet, k=8)))
            for _ in range(rows)]


def rate(rows: int, fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return rows / (time.perf_counter() - started), result


def main(rows: int) -> dict:
    rng = random.Random(20261123)
    ids, codes = make_ids(rows, rng), make_codes(rows, rng)
    frame = pl.DataFrame({"id": ids, "code": codes})
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    install_macros(con)
    con.register("frame", frame)

    # Each form counts rows per reason, so the figures are the checks themselves, not the cost
    # of moving half a million Python objects out of the engine.
    def in_duckdb(sql: str) -> Counter:
        return Counter(dict(con.execute(f"SELECT {sql} AS r, count(*) FROM frame GROUP BY r").fetchall()))

    def in_polars(expr: pl.Expr) -> Counter:
        counted = frame.select(expr.alias("r")).group_by("r").len()
        return Counter(dict(counted.iter_rows()))

    py_ids, scalar = rate(rows, lambda: Counter(validate_id_number(v, today=TODAY).reason for v in ids))
    duck_ids, duck = rate(rows, lambda: in_duckdb(id_reason_sql("id", TODAY)))
    pola_ids, pola = rate(rows, lambda: in_polars(id_reason_expr("id", TODAY)))
    assert scalar == duck == pola, (scalar, duck, pola)

    py_cc, scalar = rate(rows, lambda: Counter(validate_credit_code(v).reason for v in codes))
    duck_cc, duck = rate(rows, lambda: in_duckdb(credit_reason_sql("code")))
    pola_cc, pola = rate(rows, lambda: in_polars(credit_reason_expr("code")))
    assert scalar == duck == pola, (scalar, duck, pola)

    return {
        "benchmark": "codes_vectorised",
        "rows": rows,
        "id_number": {
            "python_rows_per_s": round(py_ids),
            "duckdb_rows_per_s": round(duck_ids),
            "polars_rows_per_s": round(pola_ids),
            "duckdb_vs_python": round(duck_ids / py_ids, 2),
            "polars_vs_python": round(pola_ids / py_ids, 2),
        },
        "credit_code": {
            "python_rows_per_s": round(py_cc),
            "duckdb_rows_per_s": round(duck_cc),
            "polars_rows_per_s": round(pola_cc),
            "duckdb_vs_python": round(duck_cc / py_cc, 2),
            "polars_vs_python": round(pola_cc / py_cc, 2),
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000), ensure_ascii=False))
