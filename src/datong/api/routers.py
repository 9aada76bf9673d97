"""Every API router, in one list (the app includes them in this order)."""

from fastapi import Depends

from datong.api.paging import known_query
from datong.catalog.api import router as catalog_router
from datong.ingest.api import router as ingest_router
from datong.quality.api import router as quality_router
from datong.opendata.ckan import router as ckan_router
from datong.opendata.api import router as opendata_router
from datong.metrics.api import router as metrics_router
from datong.security.api import router as security_router
from datong.sharing.api import router as sharing_router
from datong.registry.api import router as registry_router
from datong.licenses.api import router as licences_router
from datong.services.api import router as services_router
from datong.portal.api import router as portal_router
import datong.registry.updates  # noqa: F401 - registers the registries' load consumer
import datong.licenses.flows  # noqa: F401 - and for the licence types that issue from them
import datong.portal.proactive  # noqa: F401 - and for the births that proactive services offer to parents
import datong.opendata.files  # noqa: F401 - and for the open datasets' files, rebuilt after each load

# Sharing first: routes are matched in order, and its governed reads are the hot path. Ingest and
# quality before the catalog: their /resources/{code}/… routes must win over the catalog's
# /resources/{code} (resource codes contain a slash).
#: With each, what its routes check before their handler: our own API answers 422 for a query
#: parameter it does not know; the CKAN routes take CKAN's parameters and ignore others, as CKAN does.
STRICT = [Depends(known_query)]
ROUTERS = [(sharing_router, STRICT), (registry_router, STRICT), (licences_router, STRICT), (services_router, STRICT), (portal_router, STRICT), (opendata_router, STRICT), (metrics_router, STRICT), (security_router, STRICT), (ingest_router, STRICT), (quality_router, STRICT),
           (catalog_router, STRICT), (ckan_router, [])]
