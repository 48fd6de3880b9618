"""Country names as sanctions lists write them -> ISO 3166 alpha-2 (lower case, as FollowTheMoney).

A fast table from pycountry plus the list-specific spellings (`Korea, North`, `Burma`, `Region: Gaza`).
FollowTheMoney's territory lookup knows more spellings but takes about 2 s to load, which would double the
time of an OFAC import; names not in the table stay unresolved (the raw name is kept beside the code).
"""

from __future__ import annotations

from functools import cache, lru_cache

import pycountry

from db.text import fold

EXTRA: dict[str, str] = {
    "korea, north": "kp",
    "north korea": "kp",
    "korea, south": "kr",
    "south korea": "kr",
    "burma": "mm",
    "russia": "ru",
    "iran": "ir",
    "syria": "sy",
    "venezuela": "ve",
    "bolivia": "bo",
    "tanzania": "tz",
    "vietnam": "vn",
    "laos": "la",
    "moldova": "md",
    "macedonia": "mk",
    "north macedonia": "mk",
    "palestinian": "ps",
    "west bank": "ps",
    "gaza": "ps",
    "palestine": "ps",
    "kosovo": "xk",
    "taiwan": "tw",
    "congo, democratic republic of the": "cd",
    "democratic republic of the congo": "cd",
    "congo, republic of the": "cg",
    "cote d'ivoire": "ci",
    "ivory coast": "ci",
    "the gambia": "gm",
    "gambia, the": "gm",
    "bahamas, the": "bs",
    "micronesia, federated states of": "fm",
    "turkey": "tr",
    "turkiye": "tr",
    "czech republic": "cz",
    "hong kong": "hk",
    "macau": "mo",
    "macao": "mo",
    "china": "cn",
    "united kingdom": "gb",
    "uk": "gb",
    "united states": "us",
    "usa": "us",
    "brunei": "bn",
    "cabo verde": "cv",
    "cape verde": "cv",
    "eswatini": "sz",
    "swaziland": "sz",
    "curacao": "cw",
    "sint maarten": "sx",
    "saint kitts and nevis": "kn",
    "saint vincent and the grenadines": "vc",
    "saint lucia": "lc",
    "crimea": "ua",
    "vatican city": "va",
    "holy see": "va",
    "cote d ivoire": "ci",
    "north macedonia, the republic of": "mk",
    "man, isle of": "im",
    "northern gaza": "ps",
    "north gaza": "ps",
}
_PREFIXES = ("region ", "possibly ")  # `Region: Gaza` folds to `region gaza`


@cache
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2.lower()
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                table.setdefault(fold(value), code)
        table.setdefault(country.alpha_3.lower(), code)
    table.update(EXTRA)
    return table


@lru_cache(maxsize=8192)
def country_code(name: str | None) -> str | None:
    """ISO2 (lower case) for a country name or code such as `Hong Kong`, `Korea, North`, `HK`; else None."""
    if not name or not name.strip():
        return None
    key = fold(name)
    if len(key) == 2 and key.isalpha():
        return key if pycountry.countries.get(alpha_2=key.upper()) or key == "xk" else None
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return _table().get(key)
