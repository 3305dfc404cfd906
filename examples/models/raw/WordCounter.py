"""A raw-payload model: counts the words of a text, on REST (dict) and gRPC (SeldonMessage)."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format


class WordCounter:
    """`predict_raw` receives the transport's own message and returns the whole response.

    Send the text as `strData` (or `jsonData: {"text": ...}`); the reply is `jsonData` with the
    word and character counts, plus a COUNTER in `meta.metrics`, which the server records.
    On REST the message is a dict (str/bytes with PAYLOAD_PASSTHROUGH); on gRPC it is a
    SeldonMessage and the reply is built as one.
    """

    def predict_raw(self, msg: Any) -> Any:
        if isinstance(msg, str | bytes):  # REST with PAYLOAD_PASSTHROUGH: the undecoded body
            msg = json.loads(msg)
        if isinstance(msg, dict):
            return self._reply(msg)
        # gRPC: read the SeldonMessage through its JSON mapping and answer the same message type.
        reply = self._reply(json_format.MessageToDict(msg))
        return json_format.ParseDict(reply, type(msg)())

    @staticmethod
    def _reply(message: dict[str, Any]) -> dict[str, Any]:
        text = message.get("strData")
        json_data = message.get("jsonData")
        if text is None and isinstance(json_data, dict):
            text = json_data.get("text")
        if not isinstance(text, str):
            return {
                "status": {
                    "code": 400,
                    "info": "send strData or jsonData.text",
                    "status": "FAILURE",
                }
            }
        words = len(text.split())
        return {
            "jsonData": {"words": words, "characters": len(text)},
            "meta": {
                "metrics": [{"key": "example_words_total", "type": "COUNTER", "value": words}]
            },
        }
