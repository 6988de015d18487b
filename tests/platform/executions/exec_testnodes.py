"""Test nodes that count their calls in Redis (a side channel that survives a SIGKILL).

Also loadable as a ``reporunner.nodes`` entry point (a module whose Node subclasses are
registered), which is how a real ``reporunner worker`` subprocess gets them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput
from reporunner.nodes.registry import NodeRegistry, load_builtins


class CountParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    redis_url: str = Field(description="Redis to count in.")


def count_key(execution_id: str, node_id: str) -> str:
    return f"test:calls:{execution_id}:{node_id}"


async def _incr(ctx: NodeContext, redis_url: str) -> int:
    redis = Redis.from_url(redis_url)
    try:
        return int(await redis.incr(count_key(ctx.execution_id, ctx.node_id)))
    finally:
        await redis.aclose()


class CountCalls(Node[CountParams]):
    """Counts its calls, passes the items on."""

    type = "test.count"
    category = Category.TRANSFORM
    display_name = "Count calls"
    description = "Counts its calls in Redis and passes its items on."
    Params = CountParams

    async def run(self, ctx: NodeContext, params: CountParams, inputs: NodeInputs) -> NodeOutput:
        await _incr(ctx, params.redis_url)
        return NodeOutput.main(list(inputs.get("main", [])))


class BlockOnce(Node[CountParams]):
    """Counts its calls; the first call hangs (until the worker running it is killed)."""

    type = "test.block_once"
    category = Category.TRANSFORM
    display_name = "Block once"
    description = "Counts its calls; the first one blocks for a minute, later ones pass."
    Params = CountParams

    async def run(self, ctx: NodeContext, params: CountParams, inputs: NodeInputs) -> NodeOutput:
        if await _incr(ctx, params.redis_url) == 1:
            redis = Redis.from_url(params.redis_url, socket_timeout=None)
            try:
                await redis.blpop([f"test:never:{ctx.execution_id}"], timeout=60)
            finally:
                await redis.aclose()
        return NodeOutput.main(list(inputs.get("main", [])))


class UsageParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens_in: int = Field(description="Input tokens to report.")
    tokens_out: int = Field(description="Output tokens to report.")
    cost_usd: float = Field(description="Cost to report.")


class ReportUsage(Node[UsageParams]):
    """Reports LLM-style usage twice (as an LLM node calling a model twice would)."""

    type = "test.usage"
    category = Category.TRANSFORM
    display_name = "Report usage"
    description = "Emits two usage events and passes its items on."
    Params = UsageParams

    async def run(self, ctx: NodeContext, params: UsageParams, inputs: NodeInputs) -> NodeOutput:
        for _ in range(2):
            await ctx.emit("usage", params.model_dump())
        return NodeOutput.main(list(inputs.get("main", [])))


def registry_with_test_nodes() -> NodeRegistry:
    """Built-ins plus the nodes above."""
    registry = load_builtins(NodeRegistry())
    registry.register(CountCalls)
    registry.register(BlockOnce)
    registry.register(ReportUsage)
    return registry
