"""What a PromQL expression reads: its metric selectors with their matcher labels, and the labels
it groups or matches by. Enough of PromQL for the deploy checks (tests/deploy), not an evaluator.

The deployed alerts and dashboards are the source: the checks parse them rather than keep a list
of the metrics they use, so a query edited to name a metric or label nobody exports fails CI.

Grafana's additions are understood too: `$variables` and `[$__rate_interval]` are skipped and a
templating query `label_values(metric{...}, label)` reads `label` from `metric`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<variable>\$\{?\w+\}?)
  | (?P<number>(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)(?:ms|[smhdwy])*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<punct>[(){},]|=~|!~|!=|==|<=|>=|[-+*/%^<>=@])
    """,
    re.VERBOSE,
)

# Words that are never metric names where they stand without a following "(".
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
     "offset", "inf", "nan", "start", "end"}
)  # fmt: skip
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
# Aggregations may put their grouping before the parenthesis (`sum by (a) (x)`).
_AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
     "quantile", "limitk", "limit_ratio"}
)  # fmt: skip


class PromQLSyntaxError(ValueError):
    pass


@dataclass
class Expression:
    """One expression: metric name -> matcher label names, and its grouping/matching labels."""

    text: str
    selectors: dict[str, set[str]] = field(default_factory=dict)
    grouping: set[str] = field(default_factory=set)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise PromQLSyntaxError(f"cannot read {text[position : position + 20]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        if kind not in ("space", "range", "variable"):
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


def _label_list(tokens: list[tuple[str, str]], start: int) -> tuple[set[str], int]:
    """`( a, b )` at tokens[start]: the labels and the index after ")"."""
    if start >= len(tokens) or tokens[start][1] != "(":
        return set(), start  # group_left without labels
    labels, index = set(), start + 1
    while index < len(tokens) and tokens[index][1] != ")":
        kind, value = tokens[index]
        if kind == "ident":
            labels.add(value)
        elif value != ",":
            raise PromQLSyntaxError(f"unexpected {value!r} in a label list")
        index += 1
    if index >= len(tokens):
        raise PromQLSyntaxError("unclosed label list")
    return labels, index + 1


def _matchers(tokens: list[tuple[str, str]], start: int) -> tuple[dict[str, str], int]:
    """`{ a="x", b=~"y" }` at tokens[start]: label -> value, and the index after "}"."""
    matchers, index = {}, start + 1
    while index < len(tokens) and tokens[index][1] != "}":
        if tokens[index][1] == ",":
            index += 1
            continue
        if index + 2 >= len(tokens):
            raise PromQLSyntaxError("unclosed label matchers")
        (label_kind, label), (_, operator), (value_kind, value) = tokens[index : index + 3]
        if label_kind != "ident" or operator not in ("=", "!=", "=~", "!~") or value_kind != "string":
            raise PromQLSyntaxError(f"bad label matcher {label}{operator}{value}")
        matchers[label] = value[1:-1]
        index += 3
    if index >= len(tokens):
        raise PromQLSyntaxError("unclosed label matchers")
    return matchers, index + 1


def parse(text: str) -> Expression:
    expression = Expression(text)
    tokens = _tokens(text)
    depth = 0
    index = 0
    while index < len(tokens):
        kind, value = tokens[index]
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if value in "({":
            if value == "{":  # a selector without a metric name
                matchers, index = _matchers(tokens, index)
                name = matchers.pop("__name__", None)
                if name is None:
                    raise PromQLSyntaxError(f"a selector without a metric name in {text!r}")
                expression.selectors.setdefault(name, set()).update(matchers)
                continue
            depth += 1
        elif value == ")":
            depth -= 1
        elif kind == "ident" and value in _GROUPING:
            labels, index = _label_list(tokens, index + 1)
            expression.grouping |= labels
            continue
        elif kind == "ident" and (following == "(" or value in _AGGREGATIONS):
            pass  # a function or an aggregation
        elif kind == "ident" and value not in _KEYWORDS:
            labels_used: set[str] = set()
            index += 1
            if following == "{":
                matchers, index = _matchers(tokens, index)
                labels_used = set(matchers)
            expression.selectors.setdefault(value, set()).update(labels_used)
            continue
        index += 1
    if depth != 0:
        raise PromQLSyntaxError(f"unbalanced parentheses in {text!r}")
    return expression


_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<selector>.+),\s*(?P<label>\w+)\s*\)\s*$")


def parse_grafana_variable(query: str) -> Expression:
    """A templating query: `label_values(selector, label)` reads label from selector's metric."""
    found = _LABEL_VALUES.match(query)
    if found is None:
        return parse(query)
    expression = parse(found.group("selector"))
    for labels in expression.selectors.values():
        labels.add(found.group("label"))
    return expression
