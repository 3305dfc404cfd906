"""Kafka mode: consumer processes that answer every message of the input topic on the output."""
