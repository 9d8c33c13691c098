"""Shared pytest set-up: ``async def`` tests run under ``asyncio.run`` (no plugin needed).

The core is async (it awaits an injected ``fetch``); each async test gets a fresh event loop,
so no state leaks between tests through the loop.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None
