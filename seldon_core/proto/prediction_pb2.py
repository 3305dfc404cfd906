"""`seldon_core.proto.prediction_pb2`: the Seldon protocol messages."""

from seldon_server.proto.prediction_pb2 import *  # noqa: F403
from seldon_server.proto.prediction_pb2 import DESCRIPTOR  # noqa: F401
