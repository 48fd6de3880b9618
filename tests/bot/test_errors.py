"""Error mapping: domain errors answered privately with their hint; bugs logged with an id, never raised."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import discord
import pytest
from discord import app_commands

from bot.errors import UNEXPECTED, handle_error, user_message
from commands.errors import Ambiguous, InvalidInput, NoData, NotFound, TemporarilyUnavailable
from tests.bot.fakes import FakeInteraction


def _wrapped(exc: Exception) -> app_commands.CommandInvokeError:
    command = SimpleNamespace(name="exports", qualified_name="exports")
    return app_commands.CommandInvokeError(command, exc)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            NotFound("No commodity called 'chipz'.", suggestions=["chips", "chip"]),
            "Did you mean: chips, chip?",
        ),
        (InvalidInput("Year must be 2000-2025.", "e.g. 2023"), "Year must be 2000-2025.\ne.g. 2023"),
        (Ambiguous("'Congo' matches two countries.", ["CG Congo", "CD DR Congo"]), "CG Congo; CD DR Congo"),
        (
            NoData("No data for chips to Russia in 1999.", "Load it with tradewatch import comtrade FILE."),
            "tradewatch import",
        ),
        (TemporarilyUnavailable("UN Comtrade did not answer."), "UN Comtrade did not answer."),
        (app_commands.MissingPermissions(["manage_channels"]), "Manage Channels"),
        (app_commands.CommandOnCooldown(app_commands.Cooldown(1, 10), 7.2), "try again in 7 s"),
    ],
)
def test_expected_errors_have_a_user_message(error: Exception, expected: str) -> None:
    message = user_message(error)
    assert message is not None and expected in message


def test_bugs_have_no_user_message() -> None:
    assert user_message(KeyError("x")) is None


async def test_domain_error_before_defer_is_sent_ephemerally() -> None:
    interaction = FakeInteraction()
    await handle_error(interaction, _wrapped(NotFound("No country called 'Narnia'.", ["Namibia"])))  # type: ignore[arg-type]
    assert interaction.private_texts() == ["No country called 'Narnia'.\nDid you mean: Namibia?"]


async def test_domain_error_after_public_defer_removes_the_placeholder_and_answers_privately() -> None:
    interaction = FakeInteraction()
    await interaction.response.defer(thinking=True)
    await handle_error(interaction, _wrapped(NoData("No data for 1999.")))  # type: ignore[arg-type]
    assert interaction.deleted_original == 1
    assert interaction.private_texts() == ["No data for 1999."]


async def test_unexpected_error_is_logged_with_context_and_the_user_gets_the_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    interaction = FakeInteraction(
        command=SimpleNamespace(qualified_name="exports"),
        namespace=SimpleNamespace(commodity="chips", partner="RU"),
    )
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await handle_error(interaction, _wrapped(ZeroDivisionError("boom")))  # type: ignore[arg-type]
    [record] = [r for r in caplog.records if r.getMessage() == "command_failed"]
    fields = record.tw_fields  # type: ignore[attr-defined]
    assert fields["command"] == "/exports" and fields["options"] == {"commodity": "chips", "partner": "RU"}
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    [text] = interaction.private_texts()
    assert text == UNEXPECTED.format(command="/exports", error_id=fields["error_id"])
    assert "boom" not in text


async def test_the_handler_survives_discord_refusing_the_error_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    interaction = FakeInteraction()

    async def refuse(*_args: object, **_kwargs: object) -> None:
        raise discord.HTTPException(
            SimpleNamespace(status=404, reason="Not Found"), {"code": 10062, "message": "Unknown interaction"}
        )

    interaction.response.send_message = refuse  # type: ignore[method-assign]
    await handle_error(interaction, _wrapped(InvalidInput("bad")))  # type: ignore[arg-type]
    assert any(r.getMessage() == "reply_failed" for r in caplog.records)


async def test_expired_interaction_is_only_logged() -> None:
    interaction = FakeInteraction()
    expired = discord.NotFound(
        SimpleNamespace(status=404, reason="Not Found"), {"code": 10062, "message": "Unknown interaction"}
    )
    await handle_error(interaction, _wrapped(expired))  # type: ignore[arg-type]
    assert interaction.response.calls == [] and interaction.followup.sent == []
