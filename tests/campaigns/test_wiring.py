"""The campaign service gets its collaborators when it is built: the runner patches nothing into it."""

from __future__ import annotations

from gatewayd.campaigns.runner import CampaignRunner
from gatewayd.campaigns.service import CampaignService
from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.contacts.importer import ImportService
from gatewayd.outbound.service import OutboundService
from gatewayd.store.db import Database


def test_the_runner_changes_nothing_on_the_service(settings: Settings) -> None:
    clock = FakeClock()
    db = Database(settings.storage.database)
    released: list[bool] = []
    service = CampaignService(db, settings, clock, ImportService(db, settings, clock),
                              on_release=lambda: released.append(True))
    before = dict(vars(service))
    runner = CampaignRunner(service, OutboundService(db, settings, clock))
    assert vars(service) == before
    # The runner waits on the service's own wake-up: a change there wakes it.
    service.wakeup.clear()
    runner.wake()
    assert service.wakeup.is_set()
    assert service.on_release is not None
    service.on_release()
    assert released == [True]
