"""Tests for the downward-API annotations file parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from seldon_server.annotations import (
    DEFAULT_ANNOTATIONS_PATH,
    GRPC_MAX_MESSAGE_SIZE_ANNOTATION,
    REST_TIMEOUT_ANNOTATION,
    load_annotations,
    parse_annotations,
)


def test_constants() -> None:
    assert REST_TIMEOUT_ANNOTATION == "seldon.io/rest-timeout"
    assert GRPC_MAX_MESSAGE_SIZE_ANNOTATION == "seldon.io/grpc-max-message-size"
    assert DEFAULT_ANNOTATIONS_PATH == "/etc/podinfo/annotations"


def test_parses_quoted_values_and_strips_quotes(tmp_path: Path) -> None:
    path = tmp_path / "annotations"
    path.write_text(
        'seldon.io/rest-timeout="100000"\n'
        'seldon.io/grpc-max-message-size="10000000"\n'
        'kubernetes.io/config.seen="2024-01-01T00:00:00Z"\n'
    )
    assert load_annotations(path) == {
        "seldon.io/rest-timeout": "100000",
        "seldon.io/grpc-max-message-size": "10000000",
        "kubernetes.io/config.seen": "2024-01-01T00:00:00Z",
    }
    assert load_annotations(str(path))["seldon.io/rest-timeout"] == "100000"


def test_splits_at_first_equals_sign() -> None:
    assert parse_annotations('query="a=b=c"') == {"query": "a=b=c"}


def test_blank_and_garbage_lines_are_ignored() -> None:
    text = '\n   \nno equals sign here\n=novalue\nkey="v"\n'
    assert parse_annotations(text) == {"key": "v"}


def test_whitespace_around_key_and_value_is_trimmed() -> None:
    assert parse_annotations('  key =  "v"  \r\n') == {"key": "v"}


def test_unquoted_value_is_kept_as_is() -> None:
    assert parse_annotations("key=plain") == {"key": "plain"}
    assert parse_annotations('key="') == {"key": '"'}


def test_kubelet_escapes_are_undone() -> None:
    # The kubelet writes values Go-quoted, e.g. JSON in last-applied-configuration.
    text = r'cfg="{\"a\": 1}\n"'
    assert parse_annotations(text) == {"cfg": '{"a": 1}\n'}


def test_undecodable_escape_falls_back_to_stripping_quotes() -> None:
    assert parse_annotations(r'k="\x41"') == {"k": r"\x41"}


def test_missing_file_gives_no_annotations(tmp_path: Path) -> None:
    assert load_annotations(tmp_path / "absent") == {}
    assert load_annotations(tmp_path / "absent" / "deeper") == {}


def test_unreadable_path_raises(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_annotations(tmp_path)  # a directory
