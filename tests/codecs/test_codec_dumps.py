"""codecs.json.dumps is byte-identical to what Flask's jsonify produced for the original."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from seldon_server.codecs.json import dumps, loads
from seldon_server.errors import BadDataError


def flask_jsonify(obj: Any) -> bytes:
    """What `flask.jsonify` wrote: compact separators, sorted keys, ASCII escapes, a newline."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode()


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e-05, 1e-7, 0.0001, 1e16, 1e22, -0.0, 5e-324, 1.7976931348623157e308])
    | st.text()
    | st.text(st.characters(codec="utf-8"))  # includes non-ASCII, controls, U+2028
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
@example(1e-05)
@example({"a": [1e-05, 0.00001234, 1e-300]})
@example(float("nan"))
@example([float("inf"), float("-inf")])
@example({"text": "héllo wörld ✓ 😀"})
@example({"é": 1, "e": 2, "z": 3})
@example(2**64)
@example(-(2**100))
@example({"line": "\u2028\u2029\x00\x1f"})
@example({"b": None, "a": [True, False, None]})
def test_dumps_is_byte_identical_to_flask_jsonify(value: Any) -> None:
    assert dumps(value) == flask_jsonify(value)


def test_dumps_compact_sorted_with_newline() -> None:
    body = {"meta": {}, "data": {"names": ["t:0", "t:1"], "ndarray": [[1, 2]]}}
    assert dumps(body) == b'{"data":{"names":["t:0","t:1"],"ndarray":[[1,2]]},"meta":{}}\n'


def test_dumps_numpy_values_print_as_their_lists() -> None:
    array = np.array([[1.5, 2.0], [1e-05, 3.0]])
    assert dumps({"x": array}) == flask_jsonify({"x": array.tolist()})
    assert dumps({"x": np.arange(3)}) == b'{"x":[0,1,2]}\n'


def test_dumps_bytes_as_base64_and_tuples_as_lists() -> None:
    assert dumps({"b": b"\x00\xff", "t": (1, 2)}) == b'{"b":"AP8=","t":[1,2]}\n'


def test_dumps_int_keys_sorted_like_jsonify() -> None:
    """jsonData {2: 'b', 10: 'a'}: Flask sorted int keys numerically, not as strings."""
    value = {10: "a", 2: "b"}
    assert dumps(value) == flask_jsonify(value) == b'{"2":"b","10":"a"}\n'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a":1}', {"a": 1}),
        (b"[1,2.5]", [1, 2.5]),
        ('{"t":"é"}', {"t": "é"}),
        # beyond 64 bits: orjson reads a float, the stdlib (as the original) the exact int
        (b"18446744073709551616", 2**64),
        (b'{"id":99999999999999999999999999}', {"id": 99999999999999999999999999}),
        (b"[-9223372036854775809, 1.5]", [-(2**63) - 1, 1.5]),
        (b"[0.12345678901234567, 1e300]", [0.12345678901234567, 1e300]),  # floats stay floats
    ],
)
def test_loads_parses_json(body: bytes | str, expected: Any) -> None:
    parsed = loads(body)
    assert parsed == expected
    assert repr(parsed) == repr(expected)  # the same types: an int is not an equal float


def test_loads_accepts_nan_and_infinity_like_the_stdlib() -> None:
    value = loads(b"[NaN, Infinity, -Infinity]")
    assert math.isnan(value[0])
    assert value[1:] == [math.inf, -math.inf]


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"{'a': 1}", b"\xff\xfe", b"[1,]"])
def test_loads_rejects_non_json(body: bytes) -> None:
    with pytest.raises(BadDataError, match="Can't find JSON in data"):
        loads(body)


def test_loads_rejects_deep_nesting_as_bad_data() -> None:
    with pytest.raises(BadDataError):
        loads(b"[" * 100_000 + b"]" * 100_000)
