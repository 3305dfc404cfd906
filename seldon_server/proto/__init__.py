"""Generated protobuf code; regenerate with scripts/generate_proto.py."""
