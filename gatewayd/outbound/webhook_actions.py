"""What a person asks of a webhook endpoint by hand, from the console or the API: send it a test
event, or replay one of its deliveries. The rules live here once; the API and the console only call
these functions and show their answer or their error."""

from __future__ import annotations

from collections.abc import Callable

from gatewayd.clock import Clock
from gatewayd.errors import Conflict, NotFound
from gatewayd.store import webhooks as store
from gatewayd.store.db import Database

TEST_EVENT = "webhook.test"  # never subscribed to: it goes only to the endpoint it was asked for


async def send_test(db: Database, clock: Clock, endpoint_id: int, actor: str, wake: Callable[[], None]) -> int:
    """Queue a signed `webhook.test` event for this endpoint only (delivered like any event, logged,
    retried); the delivery's id. 404 when the endpoint does not exist."""
    endpoint = await store.get_endpoint(db, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    if endpoint.format != "gatewayd":
        raise Conflict(f"endpoint {endpoint_id} was registered through another API ({endpoint.format}), "
                       "whose events have no test event")
    payload = {"endpoint_id": endpoint_id, "requested_by": actor,
               "text": "Test event from gatewayd: your endpoint receives and can verify its events."}
    delivery_id = await store.enqueue_test(db, endpoint_id, payload, clock.now(), TEST_EVENT)
    if delivery_id is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    wake()
    return delivery_id


async def replay(db: Database, clock: Clock, endpoint_id: int, delivery_id: int, wake: Callable[[], None]) -> int:
    """Deliver a logged event again to its endpoint, as a new delivery (same event, same
    `webhook-id`: receivers that deduplicate treat it as the same event); the new delivery's id.
    404 when the delivery is not this endpoint's; 409 while it is still being tried."""
    found = await store.delivery(db, delivery_id)
    if found is None or found.endpoint_id != endpoint_id:
        raise NotFound(f"no delivery {delivery_id} for webhook endpoint {endpoint_id}")
    if found.state == "pending":
        raise Conflict(f"delivery {delivery_id} is still being tried (attempt {found.attempts + 1} is due)")
    new_id = await store.add_delivery(db, found.event_id, endpoint_id, clock.now())
    wake()
    return new_id
