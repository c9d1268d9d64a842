"""The fast JSON parse gives exactly what the strict parse gives (value, or error message and field)."""
from __future__ import annotations

import json
import random
from typing import Any

import pytest

from api import json_provider
from api.json_provider import StrictJSONError, strict_loads

BODIES: list[str] = [
    '{"a": 1, "a": 2}', '{"x": {"a": 1, "a": 1}}', '{"m": [{"k": 1}, {"k": 1, "k": 2}]}',
    '[{"a": 1, "a": {"b": 1}}]', '{"a": {"b": 1, "c": {"d": 2}}, "a": 3}', '{"a": [1, 2], "b": 1, "a": []}',
    '[[[{"a": 1}]], [1, 2, [3, {"b": [NaN]}]]]', '[[[{"a": 1, "a": 1}]]]', '{"a" : 1, "a"\n: 2}',
    '{ "a" :1 , "b":2}', '{"a:b": 1, "a:b": 2}', '{"a:b": 1, "a": ":"}', '{"a": ":", "b": ":x"}',
    '{"a": "\\":"}', '{"a": "x\\":y", "a": 1}', '{"a\\"b": 1, "a\\"b": 2}', '{"a\\u0062": 1, "ab": 2}',
    '{"a\\u0062": 1, "ac": 2}', '{"a": "{{{", "b": 1}', '{"a": "{", "a": 2}', '{"a": "}", "b": {"c": "{"}}',
    '{"a": NaN}', '{"a": [Infinity]}', '{"a": {"b": -Infinity}}', '{"a": 1e999}', '{"a": -1e999}',
    '{"a": 1E+400}', '{"a": 1e-400}', '{"a": 1.5e308}', '{"a": 1.7976931348623159e308}',
    '{"a": 1' + "0" * 400 + '.0}', '{"a": 1' + "0" * 220 + 'e99}', '{"a": 1' + "0" * 400 + '}',
    '{"a": "3e456", "b": 2.5}', '{"a": "\\u0000"}', '{"\\u0000": 1}', '{"a": "x\\u0000", "a": 1}',
    '"x"', '1e999', 'NaN', '[]', '{}', '1.5', '[1e999]', '"a\\u0000"', '{"a": true, "b": null, "c": false}',
    '{"a": [], "a": {}}', '{"": 1, "": 2}', '{"\u00e9": 1, "\u00e9": 2}', '{"\u00e9": "\u00e8"}',
    '{', '{"a":}', '', '   ', '{"a": 1} x', '[1, 2', '{"a": 1,}', '{"a": "\x01"}', '\ufeff{"a": 1}',
]


def _strict_only(text: str | bytes) -> Any:
    original = json_provider._fast
    json_provider._fast = lambda _: json_provider._UNSURE
    try:
        return _outcome(text)
    finally:
        json_provider._fast = original


def _outcome(text: str | bytes) -> Any:
    try:
        return ("value", json.dumps(strict_loads(text), sort_keys=False))
    except StrictJSONError as exc:
        return ("refused", exc.message, exc.field)
    except (ValueError, RecursionError) as exc:
        return ("error", type(exc).__name__, str(exc))


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_same_outcome_as_the_strict_parse(body: str, as_bytes: bool) -> None:
    text: str | bytes = body.encode("utf-8") if as_bytes else body
    assert _outcome(text) == _strict_only(text)


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00", '{"a": 1, "a": 2}'.encode("utf-16"), b"[" * 50_000,
                                 b'{"a":' * 20_000, b"\xef\xbb\xbf{}", b'{"a": "\xff"}'])
def test_odd_bytes_same_outcome(raw: bytes) -> None:
    assert _outcome(raw) == _strict_only(raw)


def test_errors_name_the_field() -> None:
    cases = {'{"m": [{"k": 1}, {"k": 1, "k": 2}]}': "m[1].k", '{"a": {"b": [1, 1e999]}}': "a.b[1]",
             '{"x": {"a": NaN}}': "x.a", '{"a": "\\u0000"}': "a"}
    for body, field in cases.items():
        with pytest.raises(StrictJSONError) as caught:
            strict_loads(body.encode())
        assert caught.value.field == field


def test_the_fast_path_takes_an_mlflow_batch_and_leaves_the_rest() -> None:
    batch = json.dumps({"run_id": "a" * 32, "metrics": [{"key": f"m{k}", "value": s * 0.5 + k, "timestamp": 17 + s,
                                                          "step": s} for s in range(50) for k in range(5)]})
    assert json_provider._fast(batch.encode()) == json.loads(batch)
    for body in ('{"a": 1, "a": 2}', '{"a": ":"}', '{"a": NaN}', '{"a": 1e999}', '{"a": "\\u00e9"}', '{"a" : 1}'):
        if body == '{"a" : 1}':
            assert json_provider._fast(body) == {"a": 1}  # whitespace before ':' is counted too
        else:
            assert json_provider._fast(body) is json_provider._UNSURE


def test_numbers_only_outside_strings_take_the_overflow_checking_parse() -> None:
    """A run id like "…e123…" reads "e000" once digits are masked; only a real number's exponent may cost the
    per-number hook (the slow parse is still right, but every batch of that run paid for it)."""
    assert not json_provider._may_overflow(b'{"run_id": "ae1234", "v": 1.5}', b'{"run_id":"ae0000","v":0.0}')
    for raw in (b'{"id": "ae1234", "v": 1e400}', b'{"v": 1E+308, "w": "x"}', b'[1' + b"0" * 220 + b"]"):
        squeezed = raw.translate(json_provider._DIGITS, json_provider._WHITESPACE + b"+-")
        assert json_provider._may_overflow(raw, squeezed)
    assert strict_loads('{"run_id": "fe12345", "v": 2.5}') == {"run_id": "fe12345", "v": 2.5}


def test_the_fast_parse_reads_numbers_as_the_strict_parse_does() -> None:
    """Integers past 64 bits stay ints (orjson would make them floats); doubles round the same, digit for digit."""
    rnd = random.Random(7)
    doubles = [rnd.uniform(-1e6, 1e6) for _ in range(300)] + [rnd.random() * 10 ** rnd.randint(-300, 300)
                                                            for _ in range(300)]
    body = json.dumps({"ints": [2**63 - 1, -(2**63), 2**64, 10**30, 123456789012345678901],
                       "doubles": doubles, "short": [f"{d:.5g}" for d in doubles[:50]]})
    fast = json_provider._fast(body.encode())
    assert fast == json.loads(body) and [type(i) for i in fast["ints"]] == [int] * 5
    assert json_provider._fast('{"v": 100000000000000000000}') == {"v": 10**20}


def _random_value(rnd: random.Random, depth: int) -> Any:
    kind = rnd.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rnd.choice(["", "a", ":", '":', "{", "}", "x y", "\u00e9", "a\\b", "3e456", "q\"", "\x00"])
    if kind == 1:
        return rnd.choice([0, -1, 10**30, 2**64])
    if kind == 2:
        return rnd.choice([0.5, -0.0, 1e300, 1e-300, 2.5e-5])
    if kind in (3, 4, 5):
        return rnd.choice([True, False, None, 7])
    if kind in (6, 7):
        return [_random_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {rnd.choice(["a", "b", "a:b", ":", "{", "k\"", "\u00e9"]): _random_value(rnd, depth + 1)
            for _ in range(rnd.randrange(4))}


def _with_duplicates(text: str, rnd: random.Random) -> str:
    """Turn some '{' into '{"a": 0, ' so objects that already hold "a" repeat it (and write specials in)."""
    pieces = text.split("{")
    out = pieces[0]
    for piece in pieces[1:]:
        extra = rnd.choice(['"a": 0, ', '"a": NaN, ', '"a": 1e999, ', '"b" : 1, ', ""])
        out += "{" + (extra if piece.strip() and not piece.startswith("}") else "") + piece
    return out


def test_random_bodies_agree() -> None:
    rnd = random.Random(5)
    for _ in range(1500):
        value = _random_value(rnd, 0)
        if rnd.random() < 0.7:  # an object holding "a", which _with_duplicates may repeat
            value = {"a": value, "b": [_random_value(rnd, 1)]}
        text = json.dumps(value, ensure_ascii=rnd.random() < 0.5,
                          separators=rnd.choice([(", ", ": "), (",", ":"), (" , ", " : ")]))
        if rnd.random() < 0.5:
            text = _with_duplicates(text, rnd)
        for body in (text, text.encode("utf-8")):
            assert _outcome(body) == _strict_only(body), body
