"""The `params` table of a `.mock` file, read straight from the parse tree: a header row of names, then rows
of values (each row builds the rest of the file once)."""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token, Tree

from dotmock.dsl import model as m
from dotmock.dsl.errors import DslError
from dotmock.dsl.values import decode_string


@dataclass
class ParamTable:
    names: list[str]
    rows: list[dict[str, str]]
    location: m.Location | None


def param_table(tree: Tree[Token], text: str, path: str) -> tuple[ParamTable | None, list[DslError]]:
    """Read the `params` table straight from the tree: header row of names, then rows of values."""
    errors: list[DslError] = []
    tables = [t for t in tree.children if isinstance(t, Tree) and t.data == "params"]
    if not tables:
        return None, errors
    for extra in tables[1:]:
        errors.append(
            DslError.at(
                "a file has one params table; merge the rows into the first",
                text,
                path,
                extra.meta.line,
                extra.meta.column,
            )
        )
    table = tables[0]
    rows = [r for r in table.children if isinstance(r, Tree) and r.data == "param_row"]
    header = rows[0]
    names: list[str] = []
    for cell in header.children:
        token = cell if isinstance(cell, Token) else None
        if token is None or token.type != "NAME":
            where = cell.meta if isinstance(cell, Tree) else cell
            errors.append(
                DslError.at(
                    "the first row of params names the columns: write plain names",
                    text,
                    path,
                    where.line or 1,
                    where.column or 1,
                    hint="e.g. | client | cut |",
                )
            )
            continue
        if str(token) in names:
            errors.append(
                DslError.at(
                    f"column '{token}' is named twice", text, path, token.line or 1, token.column or 1, width=len(token)
                )
            )
        names.append(str(token))
    values: list[dict[str, str]] = []
    if len(rows) == 1:
        errors.append(
            DslError.at("the params table has no rows under its header", text, path, table.meta.line, table.meta.column)
        )
    for row in rows[1:]:
        cells = [_cell_text(c) for c in row.children]
        if len(cells) != len(names):
            plural = "" if len(cells) == 1 else "s"
            errors.append(
                DslError.at(
                    f"this row has {len(cells)} value{plural} for {len(names)} columns",
                    text,
                    path,
                    row.meta.line,
                    row.meta.column,
                )
            )
            continue
        values.append(dict(zip(names, cells, strict=True)))
    return ParamTable(names, values, m.Location(path, table.meta.line, table.meta.column)), errors


def _cell_text(cell: Token | Tree[Token]) -> str:
    if isinstance(cell, Tree):  # string or number
        token = cell.children[0]
        if cell.data == "string":
            return decode_string(str(token))
        return str(token)
    return str(cell)
