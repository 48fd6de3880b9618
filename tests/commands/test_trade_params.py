"""The one validation /exports, /top partners and /top goods share: the same input fails the same way in all."""

from __future__ import annotations

import pytest

from commands.errors import InvalidInput, NotFound
from commands.exports import ExportsParams
from commands.top import TopGoodsParams, TopPartnersParams
from commands.trade_params import MAX_COMMODITY_CHARS, commodity_text, optional_year, partner_and_reporter
from db.lookups import Lookups


def test_commodity_text_folds_and_bounds() -> None:
    assert commodity_text("  aluminium   oxide ", "u") == "aluminium oxide"
    with pytest.raises(InvalidInput, match="missing"):
        commodity_text("  ", "u")
    with pytest.raises(InvalidInput, match="too long"):
        commodity_text("x" * (MAX_COMMODITY_CHARS + 1), "u")


def test_partner_and_reporter(lookups: Lookups) -> None:
    partner, reporter = partner_and_reporter(lookups, "Hong Kong", None, usage="u", same_hint="h")
    assert (partner.code, reporter.code) == (344, 156)
    with pytest.raises(InvalidInput, match="both China") as caught:
        partner_and_reporter(lookups, "CN", "China", usage="u", same_hint="name another")
    assert caught.value.hint == "name another"
    with pytest.raises(NotFound):
        partner_and_reporter(lookups, "Atlantis", None, usage="u", same_hint="h")


def test_optional_year() -> None:
    assert optional_year(None) is None and optional_year("") is None and optional_year("2023") == 2023
    with pytest.raises(InvalidInput):
        optional_year("23")


@pytest.mark.parametrize(
    "build",
    [
        lambda lk, c: ExportsParams.build(commodity=c, partner="RU", lookups=lk),
        lambda lk, c: TopPartnersParams.build(commodity=c, lookups=lk),
    ],
)
def test_commands_share_the_commodity_rule(lookups: Lookups, build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="too long"):
        build(lookups, "x" * (MAX_COMMODITY_CHARS + 1))


def test_top_goods_shares_the_country_rule(lookups: Lookups) -> None:
    with pytest.raises(InvalidInput, match="both Russia"):
        TopGoodsParams.build(partner="RU", reporter="Russia", lookups=lookups)
