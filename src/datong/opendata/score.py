"""A dataset's metadata quality, after the EU data portal's Metadata Quality Assessment (MQA).

Five dimensions, 405 points in all: findability 100, accessibility 100, interoperability 110,
reusability 75, contextuality 20. An indicator about distributions earns its points in proportion
to the distributions that meet it, as the MQA counts them. Accessibility uses the last link check
(:func:`check_links`): a link that answered 2xx or 3xx works. Ratings: excellent 351–405, good
221–350, sufficient 121–220, bad below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx2 as httpx
from sqlalchemy import select, update

from datong.db.base import utcnow
from datong.i18n import N_
from datong.opendata import dcat
from datong.opendata.models import PUBLISHED, OpenDataset

MAXIMUM = 405
DIMENSIONS = {"findability": N_("findability"), "accessibility": N_("accessibility"),
              "interoperability": N_("interoperability"), "reusability": N_("reusability"),
              "contextuality": N_("contextuality")}
RATINGS = ((351, "excellent", N_("excellent")), (221, "good", N_("good")), (121, "sufficient", N_("sufficient")),
           (0, "bad", N_("bad")))
INDICATORS = {
    "keywords": N_("keywords"), "themes": N_("themes (categories)"), "spatial": N_("spatial coverage"),
    "temporal": N_("temporal coverage"), "access_url": N_("access URL answers"),
    "download_url": N_("download URL given"), "download_works": N_("download URL answers"),
    "format": N_("format"), "media_type": N_("media type"), "vocabulary": N_("format from a vocabulary"),
    "non_proprietary": N_("non-proprietary format"), "machine_readable": N_("machine-readable format"),
    "dcat_ap": N_("DCAT-AP compliant"), "licence": N_("licence"), "licence_vocabulary": N_("licence from a vocabulary"),
    "access_rights": N_("access rights"), "access_rights_vocabulary": N_("access rights from a vocabulary"),
    "contact_point": N_("contact point"), "publisher": N_("publisher"), "rights": N_("rights statement"),
    "byte_size": N_("file size"), "issued": N_("date issued"), "modified": N_("date modified"),
}


@dataclass
class Score:
    points: float
    dimensions: dict[str, float]
    indicators: dict[str, tuple[float, int]] = field(default_factory=dict)  # name → (earned, possible)

    @property
    def total(self) -> int:
        return round(self.points)

    @property
    def rating(self) -> str:
        return next(key for low, key, _ in RATINGS if self.total >= low)

    def missing(self) -> list[str]:
        """The indicators that lost points, worst first: what to fix."""
        lost = [(possible - earned, name) for name, (earned, possible) in self.indicators.items() if earned < possible]
        return [name for _, name in sorted(lost, reverse=True)]


def _works(status: int | None) -> bool:
    return status is not None and 200 <= status < 400


def score(dataset: OpenDataset, base: str, *, conforms: bool | None = None) -> Score:
    resource = dataset.resource
    dists = dcat.distributions(base, dataset)
    links = dataset.links or {}
    share = (lambda test: sum(1 for d in dists if test(d)) / len(dists)) if dists else (lambda test: 0.0)
    if conforms is None:
        conforms = _conforms(dataset, base)
    rows = {
        "findability": [("keywords", 30, 1.0 if resource.keywords else 0.0),
                        ("themes", 30, 1.0 if resource.theme in dcat.THEMES else 0.0),
                        ("spatial", 20, 1.0 if dataset.spatial else 0.0),
                        ("temporal", 20, 1.0 if dataset.temporal_start and dataset.temporal_end else 0.0)],
        "accessibility": [("access_url", 50, share(lambda d: _works(links.get(d["access_url"])))),
                          ("download_url", 20, share(lambda d: bool(d["download_url"]))),
                          ("download_works", 30, share(lambda d: _works(links.get(d["download_url"]))))],
        "interoperability": [("format", 20, share(lambda d: bool(d["file_type"]))),
                             ("media_type", 10, share(lambda d: bool(d["media_type"]))),
                             ("vocabulary", 10, share(lambda d: d["file_type"] in dcat.FILE_TYPES)),
                             ("non_proprietary", 20, share(lambda d: d["non_proprietary"])),
                             ("machine_readable", 20, share(lambda d: d["machine_readable"])),
                             ("dcat_ap", 30, 1.0 if conforms else 0.0)],
        "reusability": [("licence", 20, 1.0 if dataset.licence else 0.0),
                        ("licence_vocabulary", 10, 1.0 if dataset.licence in dcat.LICENCES else 0.0),
                        ("access_rights", 10, 1.0),
                        ("access_rights_vocabulary", 5, 1.0 if dataset.access in ("open", "conditional") else 0.0),
                        ("contact_point", 20, 1.0 if dataset.contact_email else 0.0),
                        ("publisher", 10, 1.0)],
        "contextuality": [("rights", 5, share(lambda d: True)),
                          ("byte_size", 5, share(lambda d: d["byte_size"] is not None)),
                          ("issued", 5, 1.0), ("modified", 5, 1.0 if dataset.built_at else 0.0)],
    }
    indicators = {name: (points * part, points) for dimension in rows.values() for name, points, part in dimension}
    dimensions = {key: sum(points * part for _, points, part in dimension) for key, dimension in rows.items()}
    return Score(sum(dimensions.values()), dimensions, indicators)


def _fingerprint(dataset: OpenDataset) -> tuple:
    return (dataset.id, dataset.title, dataset.description, dataset.licence, dataset.access, dataset.contact_email,
            dataset.spatial, dataset.temporal_start, dataset.temporal_end, dataset.published_at, dataset.built_at,
            tuple(sorted((dataset.sizes or {}).items())), dataset.resource.updated_at)


_VALIDATED: dict[tuple, bool] = {}


def _conforms(dataset: OpenDataset, base: str) -> bool:
    """The dataset's DCAT-AP checked with SHACL, once per version of its metadata."""
    key = (base, *_fingerprint(dataset))
    if key not in _VALIDATED:
        if len(_VALIDATED) > 10_000:
            _VALIDATED.clear()
        _VALIDATED[key] = dcat.validate(dcat.graph([dataset], base))[0]
    return _VALIDATED[key]


def providers(session, base: str) -> list[dict]:
    """Per providing department: its published datasets, their mean score, and their use."""
    from datong.opendata.service import usage

    datasets = list(session.scalars(select(OpenDataset).where(OpenDataset.status == PUBLISHED)))
    used = usage(session, [d.id for d in datasets])
    rows: dict[str, dict] = {}
    for dataset in datasets:
        provider = dataset.resource.provider
        row = rows.setdefault(provider.code, {"code": provider.code, "name": provider.name, "datasets": 0,
                                              "points": 0.0, "view": 0, "download": 0, "api": 0})
        row["datasets"] += 1
        row["points"] += score(dataset, base).points
        for kind, count in used.get(dataset.id, {}).items():
            row[kind] += count
    for row in rows.values():
        row["score"] = round(row.pop("points") / row["datasets"])
        row["rating"] = next(key for low, key, _ in RATINGS if row["score"] >= low)
    return sorted(rows.values(), key=lambda r: (-r["score"], r["code"]))


def links_of(base: str, dataset: OpenDataset) -> list[str]:
    urls = [dcat.landing_page(base, dataset.code)]
    urls += [d["download_url"] for d in dcat.distributions(base, dataset)]
    return urls


def check_links(database, client: httpx.Client, base: str) -> dict[str, dict[str, int]]:
    """Ask every published dataset's page and download links whether they answer (HEAD, then a GET
    of the first byte where HEAD is refused) and keep what each said: 0 for no answer."""
    with database.reading() as session:
        datasets = list(session.scalars(select(OpenDataset).where(OpenDataset.status == PUBLISHED)))
    found: dict[str, dict[str, int]] = {}
    for dataset in datasets:
        statuses = {}
        for url in links_of(base, dataset):
            try:
                response = client.head(url, follow_redirects=False)
                if response.status_code in (405, 501):
                    response = client.get(url, headers={"Range": "bytes=0-0"})
                statuses[url] = response.status_code
            except httpx.HTTPError:
                statuses[url] = 0
        found[dataset.code] = statuses
        with database.unit_of_work() as session:
            session.execute(update(OpenDataset).where(OpenDataset.id == dataset.id)
                            .values(links=statuses, checked_at=utcnow()))
    return found
