"""seldon-server: a Seldon Core v1 compatible model server."""
