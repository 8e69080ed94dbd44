"""PHP bracket-key decoding: nesting, lists by key shape, and PHP's handling of odd names."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amo_bridge.events.phpform import MAX_DEPTH, decode, split_name


def test_nesting_and_lists_by_key_shape() -> None:
    body = "a[0][x]=1&a[1][x]=2&b[5]=p&b[7]=q&c[]=u&c[]=v&d[0]=z&d[2]=w"
    assert decode(body) == {
        "a": [{"x": "1"}, {"x": "2"}],
        "b": {"5": "p", "7": "q"},  # numeric-looking keys that are not 0..n-1 stay a mapping
        "c": ["u", "v"],
        "d": {"0": "z", "2": "w"},
    }


def test_percent_encoded_brackets_plus_and_unicode() -> None:
    body = quote("leads[add][0][name]") + "=" + quote("Сделка 🙂").replace("%20", "+") + "&x=a+b"
    assert decode(body.encode()) == {"leads": {"add": [{"name": "Сделка 🙂"}]}, "x": "a b"}


@pytest.mark.parametrize(
    ("name", "segments"),
    [
        ("a", ["a"]),
        ("a[b][]", ["a", "b", None]),
        ("a[b", ["a_b"]),
        ("a[b][c", ["a", "b"]),
        ("a[b]junk[c]", ["a", "b"]),
        ("[a]", []),
        ("", []),
    ],
)
def test_split_name_like_php(name: str, segments: list[str | None]) -> None:
    assert split_name(name) == segments


def test_last_value_wins_between_scalar_and_mapping() -> None:
    assert decode("a=1&a[b]=2") == {"a": {"b": "2"}}
    assert decode("a[b]=2&a=1") == {"a": "1"}


def test_leading_zeros_and_non_ascii_digits_are_not_indices() -> None:
    assert decode("a[00]=x&a[1]=y") == {"a": {"00": "x", "1": "y"}}
    assert decode("a[²]=x") == {"a": {"²": "x"}}


def test_depth_is_bounded() -> None:
    name = "a" + "[k]" * (MAX_DEPTH + 10)
    result = decode(f"{name}=1")
    depth = 0
    node = result["a"]
    while isinstance(node, dict):
        node = next(iter(node.values()))
        depth += 1
    assert depth <= MAX_DEPTH + 2
    assert node == "1"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_decode_is_total(text: str) -> None:
    assert isinstance(decode(text), dict)
