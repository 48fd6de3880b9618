"""Under load: 150 interactions (slash commands and autocomplete) from 20 users at once, against one real
`tradewatch serve`, on SQLite and on PostgreSQL.

Every interaction must be acknowledged within Discord's 3 seconds, every answer must be the one the same
question gets in-process (`commands.registry.run_text` + `bot.render`, or the suggesters), the stand-in must
have refused nothing (it enforces Discord's limits), and the bot must have logged no error. The full run
(1,000 interactions, 50 users) is `make load`; its figures are in docs/reliability.md.
"""

from __future__ import annotations

import pytest

from tests.reliability.load_harness import ACK_LIMIT, run_load
from tests.reliability.load_jobs import CATALOGUE, compute_expected, plan
from tests.reliability.stack import Stack

pytestmark = pytest.mark.e2e

COMMANDS = 150
USERS = 20


@pytest.mark.asyncio(loop_scope="session")
async def test_concurrent_users_get_fast_acknowledgements_and_correct_replies(stack: Stack) -> None:
    jobs = plan(COMMANDS, seed=11)
    assert {job.command for job in jobs} >= {"exports", "top partners", "top goods", "entity", "hs"}
    assert any(job.autocomplete for job in jobs)
    expected = await compute_expected(stack.url, jobs)
    rejections_before = len(stack.discord.rejections)

    result = await run_load(stack, jobs, expected, users=USERS)

    print("\n" + result.report())
    assert len(result.outcomes) == COMMANDS
    assert [f"{o.label}: {o.problem}" for o in result.outcomes if o.problem] == []
    assert max(o.ack or ACK_LIMIT for o in result.outcomes) < ACK_LIMIT
    assert stack.discord.rejections[rejections_before:] == []
    assert result.serve_errors == []
    stack.discord.assert_all_implemented()


def test_the_plan_is_repeatable_and_weighted() -> None:
    assert plan(50, seed=3) == plan(50, seed=3)
    counts = {job: plan(2000).count(job) for job in CATALOGUE}
    heaviest = max(CATALOGUE, key=lambda job: job.weight)
    assert counts[heaviest] == max(counts.values())
    assert all(counts[job] > 0 for job in CATALOGUE)
