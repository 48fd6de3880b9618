"""An injectable clock: real time plus an offset that tests can fast-forward.

Discord's time rules (3 s to acknowledge, 15 min token lifetime, nonce window, rate-limit windows) are all read
from this clock, so a test can jump 15 minutes ahead instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Monotonic seconds and wall-clock datetimes, both shifted by `advance()`."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds on a monotonic scale; only differences are meaningful."""
        return time.monotonic() + self._offset

    def wall(self) -> float:
        """Unix time in seconds, shifted like `now()`."""
        return time.time() + self._offset

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), tz=UTC)

    def iso(self) -> str:
        """ISO 8601 timestamp as Discord writes it (`2024-01-01T12:00:00.000000+00:00`)."""
        return self.utcnow().isoformat(timespec="microseconds")

    def advance(self, seconds: float) -> None:
        """Jump ahead; the next `now()` is `seconds` later than it would have been."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds


DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """Discord ids: milliseconds since 2015 in the high bits, a counter in the low bits, as Discord does."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._counter = 0
        self._last = 0

    def next(self) -> int:
        self._counter = (self._counter + 1) % 4096
        millis = int(self._clock.wall() * 1000) - DISCORD_EPOCH_MS
        snowflake = (millis << 22) | (1 << 17) | self._counter
        # Keep ids strictly increasing even when two are made in the same millisecond and the counter wraps.
        self._last = max(snowflake, self._last + 1)
        return self._last
