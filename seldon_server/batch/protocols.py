"""Each wire protocol's line codec (Seldon or V2) behind the one interface the processor uses."""

from __future__ import annotations

from typing import Any, Protocol

from seldon_server.batch.config import BatchConfig
from seldon_server.batch.payload import Line, Part, RequestBuilder, batch_tags
from seldon_server.batch.responses import feedback_line, split, success_line
from seldon_server.batch.v2_payload import V2Codec


class LineCodec(Protocol):
    """Input lines -> request bodies, and response bodies -> output lines, for one protocol.

    `part` raises Unbatchable for a line that must be sent alone, PayloadError for a bad line;
    `split` raises SplitError for a micro-batch response it cannot cut back into lines.
    """

    def single(self, line: Line) -> dict[str, Any]: ...

    def part(self, line: Line) -> Part: ...

    def combine(self, parts: list[Part]) -> dict[str, Any]: ...

    def success(self, response: dict[str, Any], line: Line) -> str: ...

    def split(self, response: dict[str, Any], parts: list[Part]) -> list[str]: ...


class SeldonCodec(RequestBuilder):
    """SeldonMessage (or Feedback) requests, the batch identifiers in `meta.tags`."""

    def success(self, response: dict[str, Any], line: Line) -> str:
        if self.feedback:  # a Feedback request has no meta to carry the identifiers back
            return feedback_line(response, batch_tags(self.batch_id, line))
        return success_line(response)

    def split(self, response: dict[str, Any], parts: list[Part]) -> list[str]:
        return split(response, parts, self.batch_id)


def make_codec(config: BatchConfig, batch_id: str) -> LineCodec:
    """The codec for --protocol."""
    if config.protocol == "v2":
        return V2Codec(config.data_type, batch_id)
    return SeldonCodec(config.data_type, config.payload_type, config.method, batch_id)
