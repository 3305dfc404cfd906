"""`seldon_core.proto.prediction_pb2_grpc`: the Seldon protocol stubs and servicers."""

from seldon_server.proto.prediction_pb2_grpc import *  # noqa: F403
