"""Every API router, in one list (the app includes them in this order)."""

from datong.catalog.api import router as catalog_router
from datong.catalog.ckan import router as ckan_router
from datong.security.api import router as security_router

ROUTERS = [security_router, catalog_router, ckan_router]
