"""REST request-size limit: an oversized body is a 413 with a Seldon status body."""

from __future__ import annotations

import json
from typing import Any

import models

# The `rest` fixture, not `from conftest import ...`: in a full run the name `conftest` may be
# tests/e2e/conftest.py, which has neither helper.


def test_body_over_the_limit_is_413_with_a_seldon_status(rest: Any) -> None:
    client = rest(models.Identity(), max_request_size=1024)
    body = json.dumps({"data": {"ndarray": [[0.5] * 400]}})
    assert len(body) > 1024
    response = client.post("/api/v1.0/predictions", data=body, content_type="application/json")
    assert response.status_code == 413
    status = response.get_json()["status"]
    assert status["code"] == -1 and status["status"] == 1
    assert status["reason"] == "MICROSERVICE_BAD_DATA"
    assert status["info"].startswith("413 Request Entity Too Large")


def test_body_under_the_limit_is_served(rest: Any) -> None:
    client = rest(models.Identity(), max_request_size=1024)
    response = client.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}})
    assert response.status_code == 200
    assert response.data == b'{"data":{"names":["t:0","t:1"],"ndarray":[[1,2]]},"meta":{}}\n'
