"""`seldon_core.flask_utils.SeldonMicroserviceException` for existing model classes."""

from seldon_server.errors import SeldonMicroserviceException

__all__ = ["SeldonMicroserviceException"]
