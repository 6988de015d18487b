"""Webhooks: ``/hooks/<workspace>/<path>`` deliveries routed to published workflows."""

from reporunner.platform.webhooks.body import InvalidWebhookBody, parse_body, trigger_item
from reporunner.platform.webhooks.lookup import WebhookTarget, find_target
from reporunner.platform.webhooks.responder import (
    RedisWebhookResponder,
    wait_for_response,
    webhook_response_provider,
)
from reporunner.platform.webhooks.service import (
    Delivery,
    WebhookAnswer,
    WebhookNoResponse,
    WebhookRespondTimeout,
    handle_delivery,
)

__all__ = [
    "Delivery",
    "InvalidWebhookBody",
    "RedisWebhookResponder",
    "WebhookAnswer",
    "WebhookNoResponse",
    "WebhookRespondTimeout",
    "WebhookTarget",
    "find_target",
    "handle_delivery",
    "parse_body",
    "trigger_item",
    "wait_for_response",
    "webhook_response_provider",
]
