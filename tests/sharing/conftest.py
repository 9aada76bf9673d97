"""The sharing tests' common fixture: a provider's resources with data, and a consumer's system."""

from tests.sharing.test_sharing import shared  # noqa: F401 - a fixture, found by pytest by name
