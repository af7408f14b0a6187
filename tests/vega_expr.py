"""A small evaluator of Vega expressions, to check the closed forms inside chart specs.

It understands the subset the book's charts use: numbers, strings, parameter
names, ``datum.field``, calls of the math functions below, unary ``-`` and ``!``,
``+ - * / %``, comparisons, ``&& ||`` and the conditional ``a ? b : c``, with
JavaScript's precedence. Anything else raises, so a spec that uses more fails
its test instead of being checked by a guess.
"""

from __future__ import annotations

import math
import re

from scipy import stats

TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<str>'[^']*'|\"[^\"]*\")"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>===|!==|==|!=|<=|>=|&&|\|\||[-+*/%<>!?:(),.]))"
)


def _format(value, spec):
    """d3-format for the specifiers the charts use (same syntax as Python's here)."""
    if not re.fullmatch(r"[+]?,?\.\d+[f%]", spec):
        raise ValueError(f"format specifier {spec!r} not supported by the test evaluator")
    return format(value, spec).replace("-", "\u2212")


FUNCTIONS = {
    "sqrt": math.sqrt,
    "pow": math.pow,
    "exp": math.exp,
    "log": math.log,
    "abs": abs,
    "max": max,
    "min": min,
    "floor": math.floor,
    "clamp": lambda v, lo, hi: max(lo, min(hi, v)),
    "cumulativeNormal": lambda v, mean=0.0, sd=1.0: float(stats.norm.cdf(v, mean, sd)),
    "format": _format,
}

BINARY = [  # lowest precedence first
    ("||",),
    ("&&",),
    ("==", "!=", "===", "!=="),
    ("<", ">", "<=", ">="),
    ("+", "-"),
    ("*", "/", "%"),
]


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read {text[pos : pos + 20]!r} in {text!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    def __init__(self, text, env, datum):
        self.tokens, self.i, self.env, self.datum = tokenize(text), 0, env, datum

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise ValueError(f"expected {value!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self):
        value = self.conditional()
        if self.i != len(self.tokens):
            raise ValueError(f"unexpected {self.peek()[1]!r}")
        return value

    def conditional(self):
        test = self.binary(0)
        if self.peek()[1] == "?":
            self.take("?")
            a = self.conditional()
            self.take(":")
            b = self.conditional()
            return a if test else b
        return test

    def binary(self, level):
        if level == len(BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in BINARY[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = _apply(op, left, right)
        return left

    def unary(self):
        tok = self.peek()
        if tok == ("op", "-"):
            self.take()
            return -self.unary()
        if tok == ("op", "+"):
            self.take()
            return +self.unary()
        if tok == ("op", "!"):
            self.take()
            return not self.unary()
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind == "num":
            return float(value)
        if kind == "str":
            return value[1:-1]
        if value == "(":
            inner = self.conditional()
            self.take(")")
            return inner
        if kind == "name":
            if value == "datum":
                self.take(".")
                field = self.take()[1]
                return self.datum[field]
            if self.peek()[1] == "(":
                if value not in FUNCTIONS:
                    raise ValueError(f"function {value}() not supported by the test evaluator")
                self.take("(")
                args = []
                while self.peek()[1] != ")":
                    args.append(self.conditional())
                    if self.peek()[1] == ",":
                        self.take(",")
                self.take(")")
                return FUNCTIONS[value](*args)
            if value in ("true", "false"):
                return value == "true"
            if value not in self.env:
                raise KeyError(f"parameter {value!r} is not defined in the spec")
            return self.env[value]
        raise ValueError(f"unexpected token {value!r}")


def _apply(op, a, b):
    if op == "+":
        if isinstance(a, str) or isinstance(b, str):
            return f"{_js_str(a)}{_js_str(b)}"
        return a + b
    return {
        "-": lambda: a - b,
        "*": lambda: a * b,
        "/": lambda: a / b,
        "%": lambda: math.fmod(a, b),
        "<": lambda: a < b,
        ">": lambda: a > b,
        "<=": lambda: a <= b,
        ">=": lambda: a >= b,
        "==": lambda: a == b,
        "===": lambda: a == b,
        "!=": lambda: a != b,
        "!==": lambda: a != b,
        "&&": lambda: a and b,
        "||": lambda: a or b,
    }[op]()


def _js_str(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def evaluate(expr: str, env: dict | None = None, datum: dict | None = None):
    """Value of a Vega expression given parameter values and a data row."""
    return _Parser(expr, env or {}, datum or {}).parse()


# ----------------------------------------------------------------- specs


def params(spec: dict, **values) -> dict:
    """Top-level parameter values: slider values (defaults or ``values``), then derived ones."""
    env: dict = {}
    for p in spec.get("params", []):
        if "expr" in p:
            env[p["name"]] = evaluate(p["expr"], env)
        else:
            env[p["name"]] = values.pop(p["name"], p.get("value"))
    if values:
        raise KeyError(f"no slider named {sorted(values)} in the spec")
    return env


def sliders(spec: dict) -> list[dict]:
    """The parameters bound to range inputs, with their binding."""
    return [p for p in spec.get("params", []) if p.get("bind", {}).get("input") == "range"]


def _views(node):
    if isinstance(node, dict):
        yield node
        for key in ("vconcat", "hconcat", "concat", "layer"):
            for child in node.get(key, []):
                yield from _views(child)


def calculations(spec: dict, field: str) -> list[tuple[str, list[dict]]]:
    """Every (expression, data rows) that computes ``field`` in a view of the spec."""
    datasets = spec.get("datasets", {})
    found = []
    for view in _views(spec):
        for t in view.get("transform", []):
            if t.get("as") == field and "calculate" in t:
                data = view.get("data", {})
                rows = data.get("values") or datasets.get(data.get("name"), [])
                found.append((t["calculate"], rows))
    return found


def mark_texts(spec: dict) -> list[str]:
    """The expressions of text marks whose text is computed (``{"expr": ...}``)."""
    out = []
    for view in _views(spec):
        mark = view.get("mark")
        if isinstance(mark, dict) and isinstance(mark.get("text"), dict):
            out.append(mark["text"]["expr"])
    return out
