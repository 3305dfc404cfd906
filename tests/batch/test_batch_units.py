"""Unit tests: request building, response splitting, tftensor, the proto edge, resume scan."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from seldon_server.batch import proto_codec, tftensor
from seldon_server.batch.client import grpc_metadata, rest_url
from seldon_server.batch.config import resolve
from seldon_server.batch.io import OutputWriter, scan_output
from seldon_server.batch.payload import InstanceIds, Line, PayloadError, RequestBuilder
from seldon_server.batch.progress import Progress
from seldon_server.batch.responses import SplitError, split, success_line
from seldon_server.proto import prediction_pb2


def _line(raw: str, index: int = 7) -> Line:
    return Line(index, "iid", raw.encode())


def _builder(data_type: str, payload_type: str = "ndarray", method: str = "predict") -> Any:
    return RequestBuilder(data_type, payload_type, method, "B")


IDS = {"batch_id": "B", "batch_instance_id": "iid", "batch_index": 7}


def test_raw_lines_keep_their_tags_and_the_batch_ids_win() -> None:
    line = _line('{"strData": "x", "meta": {"puid": "p", "tags": {"k": 1, "batch_index": "old"}}}')
    body = _builder("raw").single(line)
    assert body == {"strData": "x", "meta": {"puid": "p", "tags": {"k": 1, **IDS}}}
    assert _builder("raw").single(_line('{"data": {"ndarray": [1]}}'))["meta"] == {"tags": IDS}


@pytest.mark.parametrize(
    "data_type,payload_type,raw,message",
    [
        ("data", "ndarray", '{"a": 1}', "a data line must be a JSON array, got an object"),
        ("data", "tensor", '[["a", "b"]]', "a tensor payload needs numbers"),
        ("data", "tensor", "[[1, 2], [3]]", "not a rectangular array"),
        ("data", "tftensor", "[[1, [2]]]", "not a rectangular array"),
        ("str", "ndarray", "[1]", "a str line must be a JSON string, got an array"),
        ("raw", "ndarray", "[1]", "a raw line must be a JSON object"),
        ("raw", "ndarray", '{"meta": []}', "meta must be a JSON object"),
        ("raw", "ndarray", '{"meta": {"tags": 3}}', "meta.tags must be a JSON object"),
        ("json", "ndarray", "", "invalid JSON in input line"),
    ],
)
def test_bad_lines_are_payload_errors(
    data_type: str, payload_type: str, raw: str, message: str
) -> None:
    with pytest.raises(PayloadError, match=message):
        _builder(data_type, payload_type).single(_line(raw))


def test_every_data_type_carries_the_ids_and_keeps_integers() -> None:
    assert _builder("data").single(_line("[[1, 2]]")) == {
        "data": {"ndarray": [[1, 2]]},
        "meta": {"tags": IDS},
    }
    tensor = _builder("data", "tensor").single(_line("[[1, 2]]"))["data"]["tensor"]
    assert tensor == {"shape": [1, 2], "values": [1, 2]} and type(tensor["values"][0]) is int
    as_json = _builder("json").single(_line('{"x": 1}'))
    assert as_json == {"jsonData": {"x": 1}, "meta": {"tags": IDS}}
    assert _builder("str").single(_line('"s"')) == {"strData": "s", "meta": {"tags": IDS}}
    feedback = _builder("raw", method="feedback").single(_line('{"reward": 1}'))
    assert feedback == {"reward": 1}  # Feedback has no meta: ids go into the output line


@pytest.mark.parametrize(
    "array",
    [
        np.array([[1.5, -2.0]]),
        np.array([[1, 2, 3]], dtype=np.int64),
        np.array([[1, 2]], dtype=np.int32),
        np.array([[1.25]], dtype=np.float32),
        np.array([[0, 255]], dtype=np.uint8),
        np.array([[True, False]]),
        np.zeros((2, 0, 3)),
    ],
)
@pytest.mark.parametrize("packed", [True, False])
def test_tftensor_round_trips(array: np.ndarray, packed: bool) -> None:
    encoded = tftensor.to_json(array, packed)
    decoded = tftensor.from_json(json.loads(json.dumps(encoded)))
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    assert np.array_equal(decoded, array)


def test_tftensor_strings_and_errors() -> None:
    decoded = tftensor.from_json(tftensor.to_json(np.array([["a", "bc"]])))
    assert decoded.tolist() == [[b"a", b"bc"]]
    # A short value list repeats its last value (TensorFlow's rule); too many values is an error.
    filled = tftensor.from_json({"dtype": "DT_DOUBLE", "tensorShape": {"dim": [{"size": "3"}]},
                                 "doubleVal": [1.0]})  # fmt: skip
    assert filled.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(tftensor.TensorError):
        tftensor.from_json({"dtype": "DT_DOUBLE", "tensorShape": {"dim": [{"size": "1"}]},
                            "doubleVal": [1.0, 2.0]})  # fmt: skip
    with pytest.raises(tftensor.TensorError):
        tftensor.from_json({"dtype": "NOT_A_TYPE"})


def test_tftensor_rows_keep_the_servers_style_and_key_order() -> None:
    typed = {"dtype": "DT_DOUBLE", "doubleVal": [1.0, 2.0, 3.0, 4.0],
             "tensorShape": {"dim": [{"size": "2"}, {"size": "2"}]}}  # fmt: skip
    rows = tftensor.split_rows(typed, 2)
    assert rows[1] == {"dtype": "DT_DOUBLE", "doubleVal": [3.0, 4.0],
                       "tensorShape": {"dim": [{"size": "1"}, {"size": "2"}]}}  # fmt: skip
    assert list(rows[1]) == list(typed)
    with pytest.raises(tftensor.TensorError, match="not 3 rows"):
        tftensor.split_rows(typed, 3)


def _parts(count: int, user_tags: dict[str, Any] | None = None) -> list[Any]:
    builder = _builder("raw")
    return [builder.part(Line(i, f"id{i}", json.dumps(
        {"data": {"ndarray": [[i]]}, "meta": {"tags": user_tags or {}}}).encode()))
        for i in range(count)]  # fmt: skip


def test_split_gives_each_row_its_ids_and_user_tags() -> None:
    response = {"data": {"names": ["t:0"], "ndarray": [[0], [1]]},
                "meta": {"tags": {"batch_id": "B", "model": "m"}, "puid": "p"}}  # fmt: skip
    lines = [json.loads(text) for text in split(response, _parts(2, {"user": 1}), "B")]
    assert lines[1] == {
        "data": {"names": ["t:0"], "ndarray": [[1]]},
        "meta": {"tags": {"batch_id": "B", "batch_index": 1, "batch_instance_id": "id1",
                          "model": "m", "user": 1}, "puid": "p"},
    }  # fmt: skip


@pytest.mark.parametrize(
    "response,message",
    [
        ({"jsonData": {}}, "no data"),
        ({"data": {"names": []}}, "no ndarray, tensor or tftensor"),
        ({"data": {"ndarray": [[1]]}}, "1 rows for 2 lines"),
        ({"data": {"tensor": {"shape": [3, 1], "values": [1, 2, 3]}}}, "shape \\[3, 1\\]"),
        ({"data": {"tensor": {"shape": [2, 2], "values": [1, 2, 3]}}}, "do not split"),
    ],
)
def test_responses_that_cannot_be_split(response: dict[str, Any], message: str) -> None:
    with pytest.raises(SplitError, match=message):
        split(response, _parts(2), "B")


def test_success_lines_turn_a_float_index_back_into_an_integer() -> None:
    text = success_line({"meta": {"tags": {"batch_index": 3.0, "x": 1.5}}, "data": {}})
    assert text == '{"meta": {"tags": {"batch_index": 3, "x": 1.5}}, "data": {}}'


_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "meta": st.fixed_dictionaries({}, optional={
            "puid": st.text(), "tags": st.dictionaries(st.text(max_size=5), _json, max_size=4),
            "routing": st.dictionaries(st.text(max_size=3), st.integers(-5, 5), max_size=2)}),
        "data": st.fixed_dictionaries(
            {"names": st.lists(st.text(max_size=3), max_size=3)},
            optional={"ndarray": st.lists(_json, max_size=3)}),
    },
)  # fmt: skip


@given(_bodies, st.sampled_from([None, "strData", "jsonData"]))
def test_the_proto_edge_matches_json_format(body: dict[str, Any], extra: str | None) -> None:
    if extra == "strData":
        body = {key: value for key, value in body.items() if key != "data"} | {"strData": "s"}
    elif extra == "jsonData":
        body = {key: value for key, value in body.items() if key != "data"} | {"jsonData": [1, {}]}
    message = proto_codec.message_from_dict(body)
    assert message == json_format.ParseDict(body, prediction_pb2.SeldonMessage())
    as_dict = proto_codec.response_to_dict(message)
    reference = json_format.MessageToDict(message)
    assert as_dict == reference and json.dumps(as_dict) == json.dumps(reference)


def test_the_proto_edge_reports_invalid_messages() -> None:
    with pytest.raises(PayloadError, match="not a valid SeldonMessage"):
        proto_codec.message_from_dict({"strData": 5})
    with pytest.raises(PayloadError, match="not a valid Feedback"):
        proto_codec.feedback_from_dict({"reward": "lots"})


def test_scan_output_finds_done_lines_and_cuts_a_partial_one(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text(
        '{"data": {}, "meta": {"tags": {"batch_id": "B", "batch_index": 4}}}\n'
        '{"status": {"status": 1}, "meta": {"batch_id": "B", "batch_index": 2.0}}\n'
        '{"data": {}, "meta": {}}\n'  # a server that does not echo tags: its position counts
        '{"data": {}, "meta": {"tags": {"batch_index": 9'  # killed while writing
    )
    state = scan_output(out)
    assert (state.done, state.batch_id, state.lines) == ({4, 2}, "B", 3)
    assert out.read_text().endswith('"meta": {}}\n')
    assert scan_output(tmp_path / "missing.txt").done == set()


def test_the_writer_orders_tasks_and_stops_at_an_interrupted_one() -> None:
    sink = io.BytesIO()
    writer = OutputWriter(sink, ordered=True)  # type: ignore[arg-type]
    assert writer.add(1, ["b"]) == 0 and writer.pending == 1
    assert writer.add(0, ["a"]) == 2
    assert writer.add(3, ["d"]) == 0
    assert writer.add(2, None) == 2  # interrupted: nothing after it may be written
    assert writer.add(4, ["e"]) == 1
    assert sink.getvalue() == b"a\nb\n"
    unordered = io.BytesIO()
    writer = OutputWriter(unordered, ordered=False)  # type: ignore[arg-type]
    assert writer.add(5, ["x", "y"]) == 1 and writer.add(0, None) == 1
    assert unordered.getvalue() == b"x\ny\n"


def test_instance_ids_are_unique_version_1_uuids() -> None:
    make = InstanceIds()
    ids = [make() for _ in range(10000)]
    assert len(set(ids)) == len(ids)
    parsed = [uuid.UUID(text) for text in ids]
    assert all(u.version == 1 and str(u) == text for u, text in zip(parsed, ids, strict=True))
    assert parsed[0].node == uuid.uuid1().node
    assert abs(parsed[0].time - uuid.uuid1().time) < 10**9  # within 100 s of now


def test_progress_draws_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    progress = Progress(stream, total=40, interactive=True)
    monkeypatch.setattr("seldon_server.batch.progress._BAR_EVERY", 0.0)
    progress.update(9, 1)
    progress.finish()
    text = stream.getvalue()
    assert text.startswith("\r[#######") and " 25.0% 10/40 ok 9 failed 1 " in text
    assert text.endswith("\n")


@pytest.mark.parametrize(
    "flags,url,metadata",
    [
        (["-g", "istio", "-n", "ns", "-d", "dep"], "http://h:1/seldon/ns/dep/api/v1.0/predictions",
         (("seldon", "dep"), ("namespace", "ns"))),
        (["-g", "ambassador", "-d", "dep", "-m", "feedback", "-a", "raw", "--use-ssl", "1"],
         "https://h:1/seldon/default/dep/api/v1.0/feedback",
         (("seldon", "dep"), ("namespace", "default"))),
        (["-g", "seldon", "-d", "dep", "--call-credentials-token", "t"],
         "https://h:1/api/v1.0/predictions", (("x-auth-token", "t"),)),
    ],
)  # fmt: skip
def test_urls_and_grpc_metadata(
    flags: list[str], url: str, metadata: tuple[tuple[str, str], ...]
) -> None:
    config = resolve(["-h", "h:1", *flags], {})
    assert rest_url(config) == url
    assert grpc_metadata(config) == metadata
