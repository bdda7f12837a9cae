"""Parse tree -> model for the agent parts of the language: tool calls, structured answers, refusals,
reasoning, and the conversation-aware match rules (`turn`, `lastRole`, `toolResult`).

`AgentItems` is a base of the builder in `dsl/build.py` (it converts the rules that need converting; the
others stay Trees the builder's blocks read, as there). `agent_fields` gives a fixture's `TextOutcome` its
agent fields. What they may hold together is checked by `dsl/agent_checks.py`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from dotmock.dsl import model as m

if TYPE_CHECKING:
    from dotmock.dsl.checks import Checks

Located = tuple[Any, m.Location]


@v_args(inline=True)
class AgentItems(Transformer[Token, Any]):
    """Transformer methods for the agent rules of `grammar.lark`; the builder of `dsl/build.py` derives
    from it and supplies `check` and `loc`."""

    if TYPE_CHECKING:
        check: Checks

        def loc(self, item: Token | Meta | Tree[Token]) -> m.Location: ...

    def tool_name(self, item: Token | Located) -> Located:
        """`toolResult "name"` or `toolResult *` (any tool: None)."""
        if isinstance(item, Token):
            return None, self.loc(item)
        return item

    def match_tool_result(self, name: Located, *filters: Tree[Token]) -> m.ToolResultRule:
        from dotmock.dsl.agent_checks import tool_result_filters

        call_id: str | None = None
        kind: Literal["contains", "matches"] | None = None
        value: str | None = None
        tool_result_filters(self.check, filters)
        for item in filters:
            if item.data == "tool_result_id":
                call_id = _located(item)[0]
            else:  # tool_result_content: contains|matches, then a string
                op, text = item.children
                assert isinstance(op, Token) and isinstance(text, tuple)
                kind = "matches" if op.type == "MATCHES" else "contains"
                if kind == "matches":
                    self.check.regex(text)
                value = text[0]
        return m.ToolResultRule(name[0], call_id, kind, value, location=name[1])

    @v_args(meta=True, inline=True)
    def tool_call(self, meta: Meta, name: Located, *rest: Any) -> m.ToolCall:
        from dotmock.dsl.agent_checks import tool_call

        call_id: str | None = None
        arguments: Any = {}
        raw: str | None = None
        for part in rest:
            if isinstance(part, Tree) and part.data == "tool_call_id":
                call_id = _located(part)[0]
            elif isinstance(part, Tree):  # tool_arguments_raw
                raw, arguments = _located(part)[0], None
            else:
                arguments = part
        tool_call(self.check, name, rest)
        return m.ToolCall(name[0], arguments, raw, call_id, location=self.loc(meta))


def _located(tree: Tree[Token]) -> Located:
    value = tree.children[0]
    assert isinstance(value, tuple)
    return value


def agent_item(check: Checks, item: Tree[Token], where: m.Location) -> tuple[str, Any, m.Location] | None:
    """A fixture item of the agent language as (key, value, where it was written), or None for another."""
    from dotmock.dsl.agent_checks import schema

    if item.data == "structured":
        return "structured", item.children[0], where
    if item.data == "schema":
        schema(check, item.children[0], where)
        return "schema", item.children[0], where
    return None


def agent_fields(value: dict[str, Any], calls: list[m.ToolCall]) -> dict[str, Any]:
    """The agent fields of a fixture's `TextOutcome`, as keyword arguments, from its items (`value`: the
    items given once, by key; `calls`: its `toolCall` lines in order)."""
    fields: dict[str, Any] = {}
    if calls:
        fields["tool_calls"] = tuple(calls)
        if "finish_reason" not in value:
            fields["finish_reason"] = "tool_calls"
    if "structured" in value:
        fields["structured"] = True
        fields["text"] = json.dumps(value["structured"], ensure_ascii=False)
    if "schema" in value:
        fields["schema"] = value["schema"]
    if "refusal" in value:
        fields["refusal"] = value["refusal"]
        fields["text"] = ""
    if "reasoning" in value:
        fields["reasoning"] = value["reasoning"]
    return fields
