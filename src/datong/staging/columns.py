"""The shapes staging and the rule engine share: a data item as a column, a declared rule, an
authoritative source to compare with."""

from __future__ import annotations

from dataclasses import dataclass

from datong.warehouse.engine import quote_identifier


@dataclass(frozen=True)
class ItemColumn:
    """A data item as the engine sees it."""

    index: int
    name: str
    element: str | None  # element identifier
    rule: str | None  # the element's own rule
    pattern: str | None
    length: int | None
    data_type: str
    key_kind: str | None
    code_list: str | None
    codes: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        return f"i{self.index}"

    @property
    def ref(self) -> str:
        return quote_identifier(self.column)


@dataclass(frozen=True)
class Declared:
    """A rule from ``quality_rules``, already resolved to the items it applies to."""

    kind: str
    params: dict
    severity: str


@dataclass(frozen=True)
class SourceLookup:
    """An authoritative resource's snapshot to compare one item with (一数一源)."""

    item_index: int
    key_index: int
    snapshot: str
    key_name: str
    value_name: str
    department: str
    resource: str = ""  # the authoritative resource's code
