"""Resource codes (信息资源代码): 类 + 项 / 顺序码, in a format a province can replace.

The national catalogue guidelines give a resource code a front part that classifies it (class
and item) and a back part that is a sequence number. Provinces write them differently, so the
format is a function chosen by ``DATONG_RESOURCE_CODE_FORMAT``; register another with
:func:`register_format`.
"""

from __future__ import annotations

from collections.abc import Callable

CodeFormat = Callable[[str, str, int], str]  # (category, class code, sequence) → code
_FORMATS: dict[str, tuple[CodeFormat, Callable[[str, str], str]]] = {}


def register_format(name: str, render: CodeFormat, prefix: Callable[[str, str], str]) -> None:
    """``render`` builds a code; ``prefix`` gives the part shared by one class's codes, which is
    how the next sequence number is found."""
    _FORMATS[name] = (render, prefix)


register_format(
    "national",
    lambda category, class_code, sequence: f"{category}{class_code}/{sequence:06d}",
    lambda category, class_code: f"{category}{class_code}/",
)
register_format(
    "dashed",
    lambda category, class_code, sequence: f"{category}-{class_code}-{sequence:06d}",
    lambda category, class_code: f"{category}-{class_code}-",
)


def formatter(name: str) -> tuple[CodeFormat, Callable[[str, str], str]]:
    if name not in _FORMATS:
        raise KeyError(f"unknown resource code format {name!r}; known: {', '.join(sorted(_FORMATS))}")
    return _FORMATS[name]
