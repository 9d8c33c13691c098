"""Async tests without a plugin: ``async def`` tests run in a fresh event loop, with every
``Harness`` argument started before and stopped after (the loopback server included)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from pathlib import Path

import pytest

from .support import Harness


@pytest.fixture(params=["inprocess", "loopback", "sqlite"])
def standin(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    """The contract suite's subject: the engine in-process, then the real server, then the
    engine persisting to SQLite (``--data``), which must reload to the same state."""
    return Harness(request.param, tmp_path / "momento.sqlite" if request.param == "sqlite" else None)


@pytest.fixture
def inprocess() -> Harness:
    return Harness("inprocess")


@pytest.fixture
def loopback() -> Harness:
    return Harness("loopback")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    async def run() -> None:
        async with contextlib.AsyncExitStack() as stack:
            for value in args.values():
                if isinstance(value, Harness):
                    await stack.enter_async_context(value)
            await asyncio.wait_for(pyfuncitem.obj(**args), 60)

    asyncio.run(run())
    return True
