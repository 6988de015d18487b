"""The AI nodes: ``ai.agent``, ``ai.llm`` and ``ai.classify``.

Registered through the ``reporunner.nodes`` entry point
``agents = "reporunner.agents.nodes:node_classes"``. (Naming the module itself would register
nothing: the registry takes only classes *defined* in a named module, and each node lives in its
own module here.)
"""

from typing import Any

from reporunner.agents.nodes.ai_agent import AiAgent, AiAgentParams, ChatTurn
from reporunner.agents.nodes.ai_classify import AiClassify, AiClassifyParams, ClassifyLabel
from reporunner.agents.nodes.ai_llm import AiLlm, AiLlmParams
from reporunner.nodes.base import Node

NODES = (AiAgent, AiClassify, AiLlm)
"""The node classes of this part."""


def node_classes() -> list[type[Node[Any]]]:
    """The node classes of this part (the entry point's callable)."""
    return list(NODES)


__all__ = [
    "NODES",
    "AiAgent",
    "AiAgentParams",
    "AiClassify",
    "AiClassifyParams",
    "AiLlm",
    "AiLlmParams",
    "ChatTurn",
    "ClassifyLabel",
    "node_classes",
]
