"""The demo origin on a free 127.0.0.1 port, started on a thread and closed by the test's teardown."""

from __future__ import annotations

import pytest

from devstack.origin import Faults, ItemStore, OriginApp, OriginServer


@pytest.fixture
def origin():
    server = OriginServer(OriginApp(ItemStore(), Faults()), port=0).start()
    yield server.url
    server.close()
