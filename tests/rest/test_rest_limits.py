"""REST request-size limit: an oversized body is a 413 with a Seldon status body."""

from __future__ import annotations

import json

import models
from conftest import make_dispatcher, make_rest_client


def test_body_over_the_limit_is_413_with_a_seldon_status() -> None:
    client = make_rest_client(make_dispatcher(models.Identity()), max_request_size=1024)
    body = json.dumps({"data": {"ndarray": [[0.5] * 400]}})
    assert len(body) > 1024
    response = client.post("/api/v1.0/predictions", data=body, content_type="application/json")
    assert response.status_code == 413
    status = response.get_json()["status"]
    assert status["code"] == -1 and status["status"] == 1
    assert status["reason"] == "MICROSERVICE_BAD_DATA"
    assert status["info"].startswith("413 Request Entity Too Large")


def test_body_under_the_limit_is_served() -> None:
    client = make_rest_client(make_dispatcher(models.Identity()), max_request_size=1024)
    response = client.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}})
    assert response.status_code == 200
    assert response.data == b'{"data":{"names":["t:0","t:1"],"ndarray":[[1,2]]},"meta":{}}\n'
