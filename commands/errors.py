"""Domain errors raised by commands; the CLI and the bot turn them into short, helpful messages."""

from __future__ import annotations

from collections.abc import Sequence


class CommandError(Exception):
    """A problem with the user's request that they can fix; `message` says what and `hint` what works."""

    kind = "error"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def user_text(self) -> str:
        """One or two short lines for the user."""
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class InvalidInput(CommandError):
    """The arguments are malformed (bad year, empty name, unknown option)."""

    kind = "invalid_input"


class NotFound(CommandError):
    """Nothing matches; `suggestions` lists near misses to offer."""

    kind = "not_found"

    def __init__(self, message: str, suggestions: Sequence[str] = (), hint: str | None = None) -> None:
        if suggestions and hint is None:
            hint = "Did you mean: " + ", ".join(suggestions[:5]) + "?"
        super().__init__(message, hint)
        self.suggestions = list(suggestions)


class Ambiguous(CommandError):
    """Several things match equally well; `candidates` lists them."""

    kind = "ambiguous"

    def __init__(self, message: str, candidates: Sequence[str]) -> None:
        super().__init__(message, "Be more specific, e.g. one of: " + "; ".join(candidates[:5]))
        self.candidates = list(candidates)


class NoData(CommandError):
    """The request is valid but the database holds no data for it; the hint says how to get it."""

    kind = "no_data"


class TemporarilyUnavailable(CommandError):
    """A dependency (database, upstream API) failed in a way that may pass; try again later."""

    kind = "temporary"
