"""GB 11643 citizen ID number (公民身份号码).

18 characters: a 6-digit GB/T 2260 division code, an 8-digit birth date, a 3-digit sequence
(odd for men, even for women) and an ISO 7064 MOD 11-2 check character. The 15-digit form issued
before 1999 has a 2-digit year and no check character; :func:`upgrade_id_number` converts it.
"""

from __future__ import annotations

import re
from datetime import date

from datong.codes.divisions import is_known
from datong.codes.sex import sex_from_sequence
from datong.codes.verdict import Verdict, invalid

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
EARLIEST_YEAR = 1800
_PATTERN_18 = re.compile(r"\d{17}[\dX]")
_PATTERN_15 = re.compile(r"\d{15}")


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def normalise(value: str) -> str:
    return value.strip().upper()


def _birth_date(text: str) -> date | None:
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return born if born.year >= EARLIEST_YEAR else None


def upgrade_id_number(id15: str) -> str:
    """Convert a 15-digit ID to 18 digits: insert the century "19" and append the check character."""
    id15 = normalise(id15)
    if not _PATTERN_15.fullmatch(id15):
        raise ValueError(f"not a 15-digit ID number: {id15!r}")
    first17 = id15[:6] + "19" + id15[6:]
    return first17 + check_character(first17)


def validate_id_number(value: str, *, today: date | None = None) -> Verdict:
    """Check one ID number; the verdict says why it fails, with the same reason keys as the
    vectorised check in :mod:`datong.codes.vectorised`."""
    raw = value
    value = normalise(value or "")
    if not value:
        return invalid(raw, "empty")
    if len(value) not in (15, 18):
        return invalid(raw, "length", length=len(value), expected=18)
    pattern = _PATTERN_18 if len(value) == 18 else _PATTERN_15
    if not pattern.fullmatch(value):
        return invalid(raw, "characters", allowed="0-9, X")
    division = value[:6]
    if not is_known(division):
        return invalid(raw, "division", division=division)
    birth_text = value[6:14] if len(value) == 18 else "19" + value[6:12]
    born = _birth_date(birth_text)
    if born is None:
        return invalid(raw, "birth_date", birth=birth_text)
    if born > (today or date.today()):
        return invalid(raw, "birth_future", birth=birth_text)
    if len(value) == 18:
        expected = check_character(value[:17])
        if value[17] != expected:
            return invalid(raw, "check", actual=value[17], expected=expected)
        normalised = value
    else:
        normalised = upgrade_id_number(value)
    return Verdict(
        value=raw,
        valid=True,
        normalised=normalised,
        facts={
            "division": division,
            "birth_date": born.isoformat(),
            "sex": sex_from_sequence(normalised[16]),
            "legacy_15": len(value) == 15,
        },
    )
