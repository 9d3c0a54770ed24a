"""Conditions and formulas in validation cases: pandas expressions, checked before any run.

A case says *what* to measure with short expressions over a table's columns, e.g.
`outcome == 'spiral'`, `first_violent_response_day <= 10`, `side_kind == 'militia' and
state_deaths > 0`. They are evaluated with `DataFrame.eval(engine="python")`, but only after a
whitelist check on their syntax tree: column names, literals, comparisons, `and`/`or`/`not`,
arithmetic and a few column methods (`isna`, `notna`, `isin`, `between`). No other names,
no function calls, no attributes, no `@` variables: a case file is data and cannot run code.
An unknown column is an error naming the columns that exist, and the expression is tried on
an empty table of the right column types, so `outcome + 1` or a condition that is not a
condition fails when the case is loaded, not after an hour of runs.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from abm.model.records import EVENT_COLUMNS, RUN_COLUMNS

MAX_LENGTH = 500
METHODS = frozenset({"isna", "notna", "isnull", "notnull", "isin", "between"})
LITERAL_NAMES = frozenset({"True", "False", "None"})

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Call, ast.Attribute,
)  # fmt: skip

# Columns each table offers to expressions: the model's record contract plus what the
# validation runner adds (see `abm.validation.run`).
RUN_EXTRA: Mapping[str, str] = {"run": "int64", "seed": "int64", "part": "int64", "scenario": "string"}
EVENT_EXTRA: Mapping[str, str] = {
    "run": "int64",
    "part": "int64",
    "scenario": "string",
    "seq": "int64",  # order of the event within its run
    "violent": "bool",  # kinetic and rung >= 5 (the action table's `violent`)
    "side_kind": "string",  # state | militia | commander (of `side`)
    "target_kind": "string",  # state | militia | commander | None (of `target_side`)
}
RUN_FIELDS: Mapping[str, str] = {**RUN_COLUMNS, **RUN_EXTRA}
EVENT_FIELDS: Mapping[str, str] = {**EVENT_COLUMNS, **EVENT_EXTRA}
TABLES: Mapping[str, Mapping[str, str]] = {"runs": RUN_FIELDS, "events": EVENT_FIELDS}

Table = Literal["runs", "events"]
Want = Literal["condition", "number"]

_DTYPES = {"string": "str", "int64": "int64", "float64": "float64", "bool": "bool", "list<int64>": "object"}


class ExpressionError(ValueError):
    """An expression in a case is not allowed or does not fit its table."""


def empty_frame(table: Table) -> pd.DataFrame:
    """A zero-row table with the column types of `table` (for checking expressions)."""
    return pd.DataFrame({k: pd.Series([], dtype=_DTYPES[v]) for k, v in TABLES[table].items()})


def _check_tree(tree: ast.AST, columns: Mapping[str, str], text: str) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"{text!r}: {type(node).__name__} is not allowed in a case expression")
        if isinstance(node, ast.Call):
            func = node.func
            if not (isinstance(func, ast.Attribute) and func.attr in METHODS and isinstance(func.value, ast.Name)):
                raise ExpressionError(
                    f"{text!r}: only column methods {', '.join(sorted(METHODS))} may be called, as in col.isna()"
                )
            if node.keywords:
                raise ExpressionError(f"{text!r}: keyword arguments are not allowed")
        elif isinstance(node, ast.Attribute) and node.attr not in METHODS:
            raise ExpressionError(f"{text!r}: attribute {node.attr!r} is not allowed")
        elif isinstance(node, ast.Name) and node.id not in columns and node.id not in LITERAL_NAMES:
            raise ExpressionError(f"{text!r}: unknown column {node.id!r}; known: {', '.join(sorted(columns))}")
    for node in ast.walk(tree):  # a method must be called, not read
        if isinstance(node, ast.Attribute) and not any(
            isinstance(p, ast.Call) and p.func is node for p in ast.walk(tree)
        ):
            raise ExpressionError(f"{text!r}: {node.attr} must be called, as in col.{node.attr}()")


def check(text: str, table: Table, want: Want) -> str:
    """Return `text` if it is an allowed `want` expression over `table`, else raise ExpressionError."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"{text!r}: not a valid expression ({exc.msg})") from None
    _check_tree(tree, TABLES[table], text)
    try:
        result = evaluate(empty_frame(table), text, want)
    except ExpressionError:
        raise
    except Exception as exc:  # pandas raises many types for a bad expression
        raise ExpressionError(f"{text!r}: cannot be evaluated on the {table} table ({exc})") from None
    del result
    return text


def evaluate(frame: pd.DataFrame, text: str, want: Want) -> pd.Series:
    """Evaluate a checked expression row by row: a boolean mask (missing = False) or numbers."""
    if frame.empty:
        frame = frame.copy()
    value = frame.eval(text.strip(), engine="python")
    if not isinstance(value, pd.Series):  # a constant such as `True`
        value = pd.Series(value, index=frame.index)
    if want == "condition":
        if not (pd.api.types.is_bool_dtype(value.dtype) or (value.empty and value.dtype == object)):
            raise ExpressionError(f"{text!r}: is not a condition (it gives {value.dtype} values, not true/false)")
        return value.fillna(False).astype(bool)
    if pd.api.types.is_bool_dtype(value.dtype):
        return value.astype(float)
    if not pd.api.types.is_numeric_dtype(value.dtype):
        raise ExpressionError(f"{text!r}: is not a number (it gives {value.dtype} values)")
    return value.astype(float).replace([np.inf, -np.inf], np.nan)
