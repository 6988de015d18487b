"""Per-item idempotency keys for ``mode = "each"`` nodes with side effects.

``ctx.idempotency_key(item_index)`` is stable across a crash-resume, but an ``each`` node is
called once per item without being told the item's index, and the default index is 0, so every
item would get the same key (and, say, every email of a run the same Message-ID). Mixing a hash
of the item in keeps the key stable across a resume (same execution, node and item) while
telling different items apart.
"""

from __future__ import annotations

import hashlib
import json

from reporunner.nodes.base import NodeContext, NodeInputs

__all__ = ["item_idempotency_key"]


def item_idempotency_key(ctx: NodeContext, inputs: NodeInputs, port: str = "main") -> str:
    """``ctx.idempotency_key()`` plus a short hash of the item this call handles."""
    base = ctx.idempotency_key()
    items = inputs.get(port) or []
    if not items:
        return base
    canonical = json.dumps(items[0], sort_keys=True, separators=(",", ":"), default=str)
    return f"{base}:{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"
