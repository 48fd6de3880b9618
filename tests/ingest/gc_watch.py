"""Counting the cyclic GC's automatic collections inside one stretch of an import (tests only)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest


@contextmanager
def collections_between(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, first: str, last: str
) -> Iterator[list[str]]:
    """The collections that start from the call of the coroutine function `module.first` until
    `module.last` returns (the same name for one function's whole run)."""
    collections: list[str] = []
    watching = [False]

    def watch(name: str, *, begins: bool, ends: bool) -> None:
        real = getattr(module, name)

        async def watched(*args: Any, **kwargs: Any) -> Any:
            watching[0] = watching[0] or begins
            try:
                return await real(*args, **kwargs)
            finally:
                watching[0] = watching[0] and not ends

        monkeypatch.setattr(module, name, watched)

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and watching[0]:
            collections.append(phase)

    if first == last:
        watch(first, begins=True, ends=True)
    else:
        watch(first, begins=True, ends=False)
        watch(last, begins=False, ends=True)
    gc.callbacks.append(on_gc)
    try:
        yield collections
    finally:
        gc.callbacks.remove(on_gc)
