"""seldon-batch-processor: push a file of requests through parallel workers to a Seldon endpoint."""
