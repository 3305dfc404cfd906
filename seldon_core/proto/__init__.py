"""`seldon_core.proto` generated messages (the same classes as seldon_server.proto)."""
