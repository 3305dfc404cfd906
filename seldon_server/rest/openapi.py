"""The OpenAPI 3 description of the REST API served at /seldon.json."""

from __future__ import annotations

from typing import Any

from seldon_server import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _reply(schema: str) -> dict[str, Any]:
    error = {
        "description": "Seldon status body",
        "content": {"application/json": {"schema": _ref("ErrorBody")}},
    }
    return {
        "200": {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}},
        "400": error,
        "500": error,
    }


# (path, operationId, request schema, summary)
_OPERATIONS = (
    ("/predict", "Predict", "SeldonMessage", "Predict with the model"),
    ("/api/v1.0/predictions", "Predictions", "SeldonMessage", "Predict (external API path)"),
    (
        "/send-feedback",
        "SendFeedback",
        "Feedback",
        "Send feedback (reward, truth) for a prediction",
    ),
    ("/api/v1.0/feedback", "Feedback", "Feedback", "Send feedback (external API path)"),
    ("/transform-input", "TransformInput", "SeldonMessage", "Transform a request"),
    ("/transform-output", "TransformOutput", "SeldonMessage", "Transform a response"),
    ("/route", "Route", "SeldonMessage", "Choose a child of a router"),
    ("/aggregate", "Aggregate", "SeldonMessageList", "Combine the outputs of several children"),
)

_SCHEMAS: dict[str, Any] = {
    "SeldonMessage": {
        "type": "object",
        "properties": {
            "status": _ref("Status"),
            "meta": _ref("Meta"),
            "data": _ref("DefaultData"),
            "binData": {"type": "string", "format": "byte"},
            "strData": {"type": "string"},
            "jsonData": {},
        },
    },
    "SeldonMessageList": {
        "oneOf": [
            {"type": "array", "items": _ref("SeldonMessage")},
            {
                "type": "object",
                "properties": {"seldonMessages": {"type": "array", "items": _ref("SeldonMessage")}},
            },
        ]
    },
    "DefaultData": {
        "type": "object",
        "properties": {
            "names": {"type": "array", "items": {"type": "string"}},
            "tensor": _ref("Tensor"),
            "ndarray": {"type": "array", "items": {}},
            "tftensor": {
                "type": "object",
                "description": "tensorflow.TensorProto in protobuf JSON",
            },
        },
    },
    "Tensor": {
        "type": "object",
        "properties": {
            "shape": {"type": "array", "items": {"type": "integer"}},
            "values": {"type": "array", "items": {"type": "number"}},
        },
    },
    "Meta": {
        "type": "object",
        "properties": {
            "puid": {"type": "string"},
            "tags": {"type": "object", "additionalProperties": {}},
            "routing": {"type": "object", "additionalProperties": {"type": "integer"}},
            "requestPath": {"type": "object", "additionalProperties": {"type": "string"}},
            "metrics": {"type": "array", "items": _ref("Metric")},
        },
    },
    "Metric": {
        "type": "object",
        "properties": {
            "key": {"type": "string"},
            "type": {"type": "string", "enum": ["COUNTER", "GAUGE", "TIMER"]},
            "value": {"type": "number"},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Feedback": {
        "type": "object",
        "properties": {
            "request": _ref("SeldonMessage"),
            "response": _ref("SeldonMessage"),
            "reward": {"type": "number"},
            "truth": _ref("SeldonMessage"),
        },
    },
    "Status": {
        "type": "object",
        "properties": {
            "code": {"type": "integer"},
            "info": {"type": "string"},
            "reason": {"type": "string"},
            "status": {"type": "integer", "enum": [0, 1], "description": "0 SUCCESS, 1 FAILURE"},
        },
    },
    "ErrorBody": {"type": "object", "properties": {"status": _ref("Status")}},
}


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        path: {
            "post": {
                "operationId": op,
                "summary": summary,
                "requestBody": _json_body(schema),
                "responses": _reply("SeldonMessage"),
            }
        }
        for path, op, schema, summary in _OPERATIONS
    }
    paths["/health/status"] = {
        "get": {"operationId": "HealthStatus", "responses": _reply("SeldonMessage")}
    }
    paths["/health/ping"] = {
        "get": {"operationId": "HealthPing", "responses": {"200": {"description": "pong"}}}
    }
    paths["/metadata"] = {
        "get": {"operationId": "Metadata", "responses": {"200": {"description": "model metadata"}}}
    }
    return {
        "openapi": "3.0.0",
        "info": {
            "title": "Seldon External API",
            "version": __version__,
            "description": "seldon-server REST API",
        },
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }
