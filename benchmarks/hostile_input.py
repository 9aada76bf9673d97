"""What hostile files cost before they are refused, and what a large workbook costs to read.

Each case runs in a child process of its own, so its peak memory (ru_maxrss) is its own:

- baseline: DuckDB reading a CSV of ROWS rows of a population resource (every column as text);
- xlsx: datong's workbook reader on the same rows as .xlsx (streamed into DuckDB in batches);
- wrong_header: a 1.5 MB workbook whose sheet inflates to about 200 MB, under a header that names
  no data item (the issue measured 301 s and 4.8 GB before the refusal);
- inflating: a workbook whose directory declares a 4 GB sheet;
- deep_jsonl: a JSON Lines line nested 100,000 deep (it crashed the process before).

Prints one JSON object: seconds and peak MB of each, and the xlsx reader's ratios to the baseline.
Usage: python benchmarks/hostile_input.py [ROWS]   (default 300,000)
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test corpus builds the hostile files
from datong.ingest.sources import LoadFailed, Source, read_jsonl, read_xlsx
from tests.corpus.build import HEADER, deep_jsonl, inflating_xlsx, wrong_header_xlsx, xlsx
from tests.helpers import citizen_id


def rows(count: int):
    for n in range(count):
        yield [citizen_id(n % 9000 + 1), f"测试{n}", "1", "1980-01-01", f"杭州市西湖区某街道{n}号"]


def _case(name: str, path: str, out) -> None:
    started = time.perf_counter()
    con = duckdb.connect()
    outcome = "loaded"
    try:
        if name == "baseline":
            con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{path}', all_varchar = true)")
        elif name == "deep_jsonl":
            read_jsonl(con, Source.from_path(Path(path)))
        else:
            def check(header):
                if header[:1] != HEADER[:1]:
                    raise LoadFailed(source=name, reason="unknown columns")
            read_xlsx(con, Source.from_path(Path(path)), {h for h in HEADER}, check)
    except LoadFailed:
        outcome = "refused"
    out.put({"seconds": round(time.perf_counter() - started, 3), "outcome": outcome, "peak_mb": _peak_mb()})


def _peak_mb() -> float:
    """This process's own peak resident memory (VmHWM): ru_maxrss would carry the parent's peak
    over the fork that starts the child."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(name: str, path: Path) -> dict:
    queue = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(target=_case, args=(name, str(path), queue))
    child.start()
    result = queue.get(timeout=1800)
    child.join()
    return result


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    folder = Path(tempfile.mkdtemp(prefix="datong-hostile-"))
    data = list(rows(count))
    csv_path = folder / "people.csv"
    csv_path.write_text("\n".join(",".join(r) for r in [HEADER, *data]) + "\n", encoding="utf-8")
    xlsx_path = xlsx(folder / "people.xlsx", [HEADER, *data])
    results = {"rows": count,
               "baseline": measure("baseline", csv_path),
               "xlsx": measure("xlsx", xlsx_path),
               "wrong_header": measure("wrong_header", wrong_header_xlsx(folder)),
               "inflating": measure("inflating", inflating_xlsx(folder)),
               "deep_jsonl": measure("deep_jsonl", deep_jsonl(folder))}
    results["xlsx_time_ratio"] = round(results["xlsx"]["seconds"] / results["baseline"]["seconds"], 2)
    results["xlsx_memory_ratio"] = round(results["xlsx"]["peak_mb"] / results["baseline"]["peak_mb"], 2)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
