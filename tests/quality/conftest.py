from tests.ingest.conftest import population  # noqa: F401
