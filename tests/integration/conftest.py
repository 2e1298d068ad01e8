"""Fixtures of the integration tests beyond tests/conftest.py: the HTTP app's."""

from tests.integration.http_support import api_key, make_client, uow_factory

__all__ = ["api_key", "make_client", "uow_factory"]
