"""The portal's datasets as DCAT-AP (the EU application profile of DCAT), and its check with
SHACL (pyshacl) against ``shapes.ttl``: the profile's cardinalities and node kinds for the
catalogue, datasets and distributions, written for this project from the DCAT-AP 3 specification.

Controlled values come from the EU vocabularies that DCAT-AP names: data themes, frequencies,
access rights, file types and licences; media types are IANA's.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources as package_files

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, XSD

from datong.opendata.models import OpenDataset
from datong.opendata.service import LICENCES

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
THEME, FREQ, ACCESS, FILE_TYPE = (Namespace(EU + part) for part in ("data-theme/", "frequency/", "access-right/",
                                                                      "file-type/"))
IANA = "https://www.iana.org/assignments/media-types/"
#: The catalog's themes (主题) → the EU data themes.
THEMES = {"人口": "SOCI", "社会保障": "SOCI", "就业创业": "ECON", "婚姻": "SOCI", "社会救助": "SOCI",
          "法人": "ECON", "市场监管": "ECON", "信用": "JUST", "不动产": "REGI", "出生": "HEAL", "卫生健康": "HEAL",
          "教育": "EDUC", "交通": "TRAN", "环境": "ENVI", "能源": "ENER", "农业": "AGRI", "科技": "TECH",
          "财政": "GOVE", "政务": "GOVE"}
FREQUENCIES = {"realtime": "CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
               "quarterly": "QUARTERLY", "yearly": "ANNUAL"}
#: format → (EU file type, IANA media type, machine-readable, non-proprietary)
FORMATS = {"csv": ("CSV", "text/csv", True, True), "json": ("JSON", "application/json", True, True),
           "parquet": ("PARQUET", "application/vnd.apache.parquet", True, True),
           "xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True, False)}

FILE_TYPES = {file_type for file_type, *_ in FORMATS.values()}


def dataset_uri(base: str, code: str) -> URIRef:
    return URIRef(f"{base}/open/{code}")


def download_url(base: str, code: str, fmt: str) -> str:
    return f"{base}/api/v1/open/datasets/{code}/download.{fmt}"


def landing_page(base: str, code: str) -> str:
    return f"{base}/open/{code}"


def distributions(base: str, dataset: OpenDataset) -> list[dict]:
    """Each format the dataset is offered in: its links, type and size (None until built)."""
    found = []
    for fmt, (file_type, media, machine, open_format) in FORMATS.items():
        if dataset.sizes and fmt not in dataset.sizes:
            continue  # not built in this format (an XLSX beyond a worksheet's rows)
        found.append({"format": fmt, "file_type": file_type, "media_type": media, "machine_readable": machine,
                      "non_proprietary": open_format, "access_url": landing_page(base, dataset.code),
                      "download_url": download_url(base, dataset.code, fmt),
                      "byte_size": (dataset.sizes or {}).get(fmt)})
    return found


def graph(datasets: list[OpenDataset], base: str, *, title: str = "开放数据目录") -> Graph:
    g = Graph()
    for prefix, namespace in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD)):
        g.bind(prefix, namespace)
    catalog = URIRef(f"{base}/open")
    bureau = URIRef(f"{base}/open#publisher")
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal(title, lang="zh")))
    g.add((catalog, DCTERMS.description, Literal("政务数据开放平台向社会开放的数据集。", lang="zh")))
    g.add((catalog, DCTERMS.publisher, bureau))
    g.add((catalog, FOAF.homepage, catalog))
    g.add((bureau, RDF.type, FOAF.Agent))
    g.add((bureau, FOAF.name, Literal("大数据管理局", lang="zh")))
    for dataset in datasets:
        resource = dataset.resource
        node = dataset_uri(base, dataset.code)
        g.add((catalog, DCAT.dataset, node))
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.identifier, Literal(dataset.code)))
        g.add((node, DCTERMS.title, Literal(dataset.title, lang="zh")))
        g.add((node, DCTERMS.description, Literal(dataset.description or dataset.title, lang="zh")))
        publisher = URIRef(f"{base}/open/providers/{resource.provider.code}")
        g.add((node, DCTERMS.publisher, publisher))
        g.add((publisher, RDF.type, FOAF.Agent))
        g.add((publisher, FOAF.name, Literal(resource.provider.name, lang="zh")))
        g.add((node, DCAT.landingPage, URIRef(landing_page(base, dataset.code))))
        for keyword in resource.keywords:
            g.add((node, DCAT.keyword, Literal(keyword, lang="zh")))
        if resource.theme in THEMES:
            g.add((node, DCAT.theme, THEME[THEMES[resource.theme]]))
        g.add((node, DCTERMS.accrualPeriodicity, FREQ[FREQUENCIES[resource.update_cycle]]))
        g.add((node, DCTERMS.accessRights, ACCESS.PUBLIC if dataset.access == "open" else ACCESS.RESTRICTED))
        g.add((node, DCTERMS.issued, Literal(dataset.published_at.date().isoformat(), datatype=XSD.date)))
        modified = dataset.built_at or dataset.published_at
        g.add((node, DCTERMS.modified, Literal(modified.isoformat(), datatype=XSD.dateTime)))
        if dataset.contact_email:
            contact = BNode()
            g.add((node, DCAT.contactPoint, contact))
            g.add((contact, RDF.type, VCARD.Kind))
            g.add((contact, VCARD.fn, Literal(resource.provider.name, lang="zh")))
            g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{dataset.contact_email}")))
        if dataset.spatial:
            place = URIRef(f"{base}/open/divisions/{dataset.spatial}")
            g.add((node, DCTERMS.spatial, place))
            g.add((place, RDF.type, DCTERMS.Location))
        if dataset.temporal_start and dataset.temporal_end:
            period = BNode()
            g.add((node, DCTERMS.temporal, period))
            g.add((period, RDF.type, DCTERMS.PeriodOfTime))
            g.add((period, DCAT.startDate, Literal(dataset.temporal_start.isoformat(), datatype=XSD.date)))
            g.add((period, DCAT.endDate, Literal(dataset.temporal_end.isoformat(), datatype=XSD.date)))
        rights = resource.open_condition or ("向社会无条件开放" if dataset.access == "open" else "有条件开放，须申请接口密钥")
        for dist in distributions(base, dataset):
            node_d = URIRef(dist["download_url"] + "#distribution")
            g.add((node, DCAT.distribution, node_d))
            g.add((node_d, RDF.type, DCAT.Distribution))
            g.add((node_d, DCTERMS.title, Literal(f"{dataset.title}（{dist['file_type']}）", lang="zh")))
            g.add((node_d, DCAT.accessURL, URIRef(dist["access_url"])))
            g.add((node_d, DCAT.downloadURL, URIRef(dist["download_url"])))
            g.add((node_d, DCAT.mediaType, URIRef(IANA + dist["media_type"])))
            g.add((node_d, DCTERMS.format, FILE_TYPE[dist["file_type"]]))
            g.add((node_d, DCTERMS.license, URIRef(LICENCES[dataset.licence])))
            statement = BNode()
            g.add((node_d, DCTERMS.rights, statement))
            g.add((statement, RDF.type, DCTERMS.RightsStatement))
            g.add((statement, RDFS.label, Literal(rights, lang="zh")))
            if dist["byte_size"] is not None:
                g.add((node_d, DCAT.byteSize, Literal(dist["byte_size"], datatype=XSD.nonNegativeInteger)))
    return g


@lru_cache(maxsize=1)
def shapes() -> Graph:
    text = package_files.files("datong.opendata").joinpath("shapes.ttl").read_text(encoding="utf-8")
    return Graph().parse(data=text, format="turtle")


def validate(g: Graph) -> tuple[bool, list[str]]:
    """Whether the graph conforms to the shapes, and each violation's message (focus: message)."""
    from pyshacl import validate as shacl

    conforms, report, _ = shacl(g, shacl_graph=shapes(), inference="none", abort_on_first=False)
    SH = Namespace("http://www.w3.org/ns/shacl#")
    problems = [f"{report.value(r, SH.focusNode)} {report.value(r, SH.resultPath)}: {report.value(r, SH.resultMessage)}"
                for r in report.subjects(RDF.type, SH.ValidationResult)]
    return bool(conforms), sorted(problems)
