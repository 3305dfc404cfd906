"""`seldon_core.user_model` names for existing model classes."""

from seldon_server.errors import SeldonNotImplementedError
from seldon_server.model.component import SeldonComponent, SeldonResponse

__all__ = ["SeldonComponent", "SeldonNotImplementedError", "SeldonResponse"]
