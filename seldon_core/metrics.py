"""`seldon_core.metrics` helpers for existing model classes."""

from seldon_server.custom_metrics import (
    create_counter,
    create_gauge,
    create_timer,
    validate_metrics,
)

__all__ = ["create_counter", "create_gauge", "create_timer", "validate_metrics"]
