"""The GC pause used by bulk imports and the name index build."""

from __future__ import annotations

import gc

import pytest

from db.gc_pause import gc_paused


def test_gc_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # was off before: stays off
    finally:
        gc.enable()
