"""Every API router, in one list (the app includes them in this order)."""

from datong.catalog.api import router as catalog_router
from datong.ingest.api import router as ingest_router
from datong.quality.api import router as quality_router
from datong.catalog.ckan import router as ckan_router
from datong.security.api import router as security_router
from datong.sharing.api import router as sharing_router

# Sharing first: routes are matched in order, and its governed reads are the hot path. Ingest and
# quality before the catalog: their /resources/{code}/… routes must win over the catalog's
# /resources/{code} (resource codes contain a slash).
ROUTERS = [sharing_router, security_router, ingest_router, quality_router, catalog_router, ckan_router]
