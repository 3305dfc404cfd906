"""The librdkafka settings of a consumer process, from ours: group, commits, security."""

from __future__ import annotations

from typing import Any

from seldon_server.settings import Settings

EXTRA = "seldon-server[kafka]"
# A consumer that joins or leaves is noticed within this long (the executor used the same).
SESSION_TIMEOUT_MS = 6000
# How long librdkafka itself retries a produce before reporting the failure to us; we then
# retry again, with backoff, for as long as the process runs.
MESSAGE_TIMEOUT_MS = 30000


def group_id(settings: Settings) -> str:
    """KAFKA_GROUP_ID, else `<predictor>.<deployment>.<namespace>` as the executor named it."""
    if settings.kafka_group_id:
        return settings.kafka_group_id
    return f"{settings.predictor_id}.{settings.deployment_id}.{settings.namespace}"


def consumer_config(settings: Settings) -> dict[str, Any]:
    """Offsets are stored by us only once the output is delivered, then committed."""
    return {
        **_common(settings),
        "group.id": group_id(settings),
        "auto.offset.reset": "earliest",
        "session.timeout.ms": SESSION_TIMEOUT_MS,
        "enable.auto.commit": settings.kafka_auto_commit,
        "enable.auto.offset.store": False,
        "statistics.interval.ms": 5000,  # consumer lag per partition, for the metrics
        # An input topic created after the server started is found within this long.
        "topic.metadata.refresh.interval.ms": 10000,
    }


def producer_config(settings: Settings) -> dict[str, Any]:
    return {
        **_common(settings),
        "acks": "all",
        "enable.idempotence": True,  # retries inside librdkafka never duplicate or reorder
        "linger.ms": 2,
        "message.timeout.ms": MESSAGE_TIMEOUT_MS,
    }


def log_producer_config(settings: Settings) -> dict[str, Any]:
    """The request log's producer: its own broker, the same security settings."""
    return {
        **_common(settings, settings.log_kafka_broker),
        "linger.ms": 5,
        "message.timeout.ms": MESSAGE_TIMEOUT_MS,
    }


def _common(settings: Settings, broker: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": broker or settings.kafka_broker,
        "client.id": f"seldon-server.{settings.interface_name}",
        "security.protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("ssl", "sasl_ssl"):
        config.update(_ssl(settings))
    if settings.kafka_security_protocol.startswith("sasl"):
        config.update(
            {
                "sasl.mechanism": settings.kafka_sasl_mechanism,
                "sasl.username": settings.kafka_sasl_username,
                "sasl.password": settings.kafka_sasl_password,
            }
        )
    return config


def _ssl(settings: Settings) -> dict[str, str]:
    """PEM text beats a file path, as the executor chose between them."""
    pairs = (
        (
            "ssl.ca.pem",
            settings.kafka_ssl_ca_cert,
            "ssl.ca.location",
            settings.kafka_ssl_ca_cert_file,
        ),
        (
            "ssl.certificate.pem",
            settings.kafka_ssl_client_cert,
            "ssl.certificate.location",
            settings.kafka_ssl_client_cert_file,
        ),
        (
            "ssl.key.pem",
            settings.kafka_ssl_client_key,
            "ssl.key.location",
            settings.kafka_ssl_client_key_file,
        ),
    )
    config = {}
    for pem_key, pem, file_key, path in pairs:
        if pem:
            config[pem_key] = pem
        elif path:
            config[file_key] = path
    if settings.kafka_ssl_client_key_pass:
        config["ssl.key.password"] = settings.kafka_ssl_client_key_pass
    return config
