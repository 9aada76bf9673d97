"""The catalog as DCAT (W3C Data Catalog Vocabulary), in Turtle or JSON-LD, with rdflib."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from datong.catalog.models import Resource

FREQ = Namespace("http://purl.org/cld/freq/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
BASE = Namespace("urn:datong:")
_FREQUENCY = {"realtime": FREQ.continuous, "daily": FREQ.daily, "weekly": FREQ.weekly,
              "monthly": FREQ.monthly, "quarterly": FREQ.quarterly, "yearly": FREQ.annual}
_MEDIA = {"ttl": ("turtle", "text/turtle; charset=utf-8"), "jsonld": ("json-ld", "application/ld+json")}


def _uri(kind: str, key: str) -> URIRef:
    return BASE[f"{kind}:{key}"]


def graph(resources: list[Resource], view: dict | None = None) -> Graph:
    """The catalog's datasets; ``view`` (``id``, ``first``, ``next``, ``total``: links as strings)
    describes the page as a Hydra PartialCollectionView, as DCAT-AP harvesters page a catalog."""
    g = Graph()
    g.bind("dcat", DCAT)
    g.bind("dct", DCTERMS)
    g.bind("foaf", FOAF)
    catalog = _uri("catalog", "datong")
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal("政务信息资源目录", lang="zh")))
    if view is not None:
        g.bind("hydra", HYDRA)
        page = URIRef(view["id"])
        g.add((page, RDF.type, HYDRA.PartialCollectionView))
        g.add((page, HYDRA.first, URIRef(view["first"])))
        if view.get("next"):
            g.add((page, HYDRA.next, URIRef(view["next"])))
        g.add((page, HYDRA.totalItems, Literal(view["total"], datatype=XSD.integer)))
        g.add((catalog, HYDRA.view, page))
    for resource in resources:
        dataset = _uri("resource", resource.code)
        g.add((catalog, DCAT.dataset, dataset))
        g.add((dataset, RDF.type, DCAT.Dataset))
        g.add((dataset, DCTERMS.identifier, Literal(resource.code)))
        g.add((dataset, DCTERMS.title, Literal(resource.name, lang="zh")))
        if resource.summary:
            g.add((dataset, DCTERMS.description, Literal(resource.summary, lang="zh")))
        publisher = _uri("department", resource.provider.code)
        g.add((dataset, DCTERMS.publisher, publisher))
        g.add((publisher, RDF.type, FOAF.Organization))
        g.add((publisher, FOAF.name, Literal(resource.provider.name, lang="zh")))
        g.add((publisher, DCTERMS.identifier, Literal(resource.provider.code)))
        for keyword in resource.keywords:
            g.add((dataset, DCAT.keyword, Literal(keyword, lang="zh")))
        if resource.theme:
            g.add((dataset, DCAT.theme, Literal(resource.theme, lang="zh")))
        g.add((dataset, DCTERMS.accrualPeriodicity, _FREQUENCY[resource.update_cycle]))
        if resource.published_on:
            g.add((dataset, DCTERMS.issued, Literal(resource.published_on.isoformat(), datatype=XSD.date)))
        g.add((dataset, DCTERMS.modified, Literal(resource.updated_at.isoformat(), datatype=XSD.dateTime)))
        g.add((dataset, DCTERMS.accessRights, Literal(resource.sharing_type)))
        for method in resource.sharing_methods:
            distribution = BNode()
            g.add((dataset, DCAT.distribution, distribution))
            g.add((distribution, RDF.type, DCAT.Distribution))
            g.add((distribution, DCTERMS.title, Literal(method)))
            g.add((distribution, DCTERMS.format, Literal(resource.format, lang="zh")))
            g.add((distribution, DCAT.accessURL, URIRef(f"/api/v1/resources/{resource.code}")))
    return g


def serialise(resources: list[Resource], fmt: str, view: dict | None = None) -> tuple[str, str]:
    rdf_format, media_type = _MEDIA[fmt]
    return graph(resources, view).serialize(format=rdf_format), media_type
