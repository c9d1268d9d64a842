"""MLflow's search grammar, parsed (no I/O): `metrics.acc > 0.9 AND params.lr = '0.1'` and `metrics.acc DESC`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from services.errors import Invalid

Value = Union[float, str, tuple[str, ...], None]

ENTITY_ALIASES = {
    "metric": "metric", "metrics": "metric",
    "param": "param", "params": "param", "parameter": "param", "parameters": "param",
    "tag": "tag", "tags": "tag",
    "attribute": "attribute", "attributes": "attribute", "attr": "attribute", "run": "attribute",
    "dataset": "dataset", "datasets": "dataset",
}
NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
NULL_OPS = ("IS NULL", "IS NOT NULL")

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<backtick>`[^`]*`)
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.]))
  | (?P<op>!=|<>|>=|<=|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<dot>\.)
  | (?P<word>[A-Za-z_][\w\-]*(?::[\w\-]+)*)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


@dataclass(frozen=True)
class Clause:
    """One comparison: entity ("metric" | "param" | "tag" | "attribute" | "dataset"), key, operator, value."""

    entity: str
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class OrderKey:
    entity: str
    key: str
    ascending: bool


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise Invalid(f"invalid filter near {text[pos:pos + 20]!r}", "filter")
        pos = match.end()
        if match.lastgroup != "ws":
            tokens.append(Token(match.lastgroup or "", match.group()))
    return tokens


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1]
    if quote == "`":
        return body
    body = body.replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str, field: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.field = field
        self.text = text

    def fail(self, why: str) -> Invalid:
        return Invalid(f"invalid {self.field} {self.text!r}: {why}", self.field)

    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.fail("it ends too early")
        self.pos += 1
        return token

    def word_is(self, *words: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "word" and token.text.upper() in words

    def identifier(self, default_entity: str | None) -> tuple[str, str]:
        """`metrics.acc`, `params."a b"`, ``tags.`mlflow.user` ``, `attributes.status`; bare names are attributes."""
        first = self.take()
        if first.kind in ("string", "backtick") and default_entity:
            return default_entity, _unquote(first.text)
        if first.kind != "word":
            raise self.fail(f"expected a name like metrics.<key>, got {first.text!r}")
        nxt = self.peek()
        if nxt is not None and nxt.kind == "dot" and first.text.lower() in ENTITY_ALIASES:
            self.pos += 1
            return ENTITY_ALIASES[first.text.lower()], self._key()
        if default_entity is None:
            raise self.fail(f"{first.text!r} needs a prefix: metrics., params., tags. or attributes.")
        key = first.text
        while self.peek() is not None and self.peek().kind == "dot":  # type: ignore[union-attr]
            self.pos += 1
            key += "." + self.take().text
        return default_entity, key

    def _key(self) -> str:
        token = self.take()
        if token.kind in ("string", "backtick"):
            return _unquote(token.text)
        if token.kind not in ("word", "number"):
            raise self.fail(f"expected a key after the dot, got {token.text!r}")
        key = token.text
        while self.peek() is not None and self.peek().kind == "dot":  # type: ignore[union-attr]
            self.pos += 1
            key += "." + self.take().text
        return key

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op":
            return "!=" if token.text == "<>" else token.text
        upper = token.text.upper() if token.kind == "word" else ""
        if upper in ("LIKE", "ILIKE", "IN"):
            return upper
        if upper == "NOT" and self.word_is("IN"):
            self.pos += 1
            return "NOT IN"
        if upper == "IS":
            if self.word_is("NOT"):
                self.pos += 1
                if self.word_is("NULL"):
                    self.pos += 1
                    return "IS NOT NULL"
            elif self.word_is("NULL"):
                self.pos += 1
                return "IS NULL"
        raise self.fail(f"{token.text!r} is not a comparison operator")

    def value(self, op: str) -> Value:
        if op in NULL_OPS:
            return None
        if op in ("IN", "NOT IN"):
            return self._value_list()
        token = self.take()
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            return float(token.text)
        raise self.fail(f"expected a quoted string or a number, got {token.text!r}")

    def _value_list(self) -> tuple[str, ...]:
        if self.take().kind != "lparen":
            raise self.fail("IN needs a parenthesised list like ('a', 'b')")
        values: list[str] = []
        while True:
            token = self.take()
            if token.kind != "string":
                raise self.fail(f"IN lists hold quoted strings, got {token.text!r}")
            values.append(_unquote(token.text))
            sep = self.take()
            if sep.kind == "rparen":
                return tuple(values)
            if sep.kind != "comma":
                raise self.fail(f"expected , or ) in the IN list, got {sep.text!r}")


def parse_filter(text: str | None, default_entity: str | None = None) -> list[Clause]:
    """Clauses joined by AND (MLflow has no OR). Empty or None → no clauses."""
    if not text or not text.strip():
        return []
    parser = _Parser(text, "filter")
    clauses: list[Clause] = []
    while True:
        entity, key = parser.identifier(default_entity)
        op = parser.operator()
        clauses.append(Clause(entity, key, op, parser.value(op)))
        if parser.peek() is None:
            return clauses
        if not parser.word_is("AND"):
            what = parser.peek().text  # type: ignore[union-attr]
            raise parser.fail("only AND joins clauses" if what.upper() == "OR" else f"unexpected {what!r}")
        parser.pos += 1


def parse_order_by(items: list[str] | None, default_entity: str | None = None) -> list[OrderKey]:
    """Each item is `<identifier> [ASC|DESC]`."""
    keys: list[OrderKey] = []
    for item in items or []:
        if not isinstance(item, str) or not item.strip():
            raise Invalid("order_by entries must be non-empty strings", "order_by")
        parser = _Parser(item, "order_by")
        entity, key = parser.identifier(default_entity)
        ascending = True
        if parser.word_is("ASC", "DESC"):
            ascending = parser.take().text.upper() == "ASC"
        if parser.peek() is not None:
            raise parser.fail(f"unexpected {parser.peek().text!r}")  # type: ignore[union-attr]
        keys.append(OrderKey(entity, key, ascending))
    return keys


def like_to_glob(pattern: str) -> str:
    """A case-sensitive SQL LIKE pattern as a SQLite GLOB pattern (SQLite's LIKE ignores ASCII case)."""
    out = []
    for ch in pattern:
        out.append({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(ch, ch))
    return "".join(out)
