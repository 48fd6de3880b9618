"""One Chinese syllable in other romanisations: pinyin `zhou`, Wade-Giles `chou`, Hong Kong `chow`, `chau`.

- Pinyin <-> Wade-Giles for every syllable comes from pypinyin's public API (`lazy_pinyin` in
  `Style.NORMAL` and `Style.WADEGILES`, over the CJK Unified Ideographs it reads), with the aspiration
  apostrophe dropped (`ch'ang` -> `chang`, as names are usually written and as `normalize_name` drops it) and
  pypinyin's `v` for ü written `u` (`hsü` is `hsu` in a search key).
- Hong Kong (Cantonese) spellings exist for surnames only, and no maintained library maps them:
  `HONG_KONG_SURNAMES` lists the common ones as the Hong Kong government romanises them (the spelling on
  Hong Kong identity cards and in its registers), each with its character and Mandarin pinyin.

Two spellings are equivalent when they write one pinyin syllable: `zhou` ~ `chou` ~ `chow` ~ `chau`,
`xi` ~ `hsi`, `zhang` ~ `chang` ~ `cheung`. The relation is not chained further: Wade-Giles without its
apostrophe writes pinyin `ji` and `qi` both `chi`, so `chi` ~ `ji` and `chi` ~ `qi`, but `ji` is not `qi`.
One-letter spellings (Wade-Giles `i` for `yi`, `o` for `e`) are left out: a one-letter query word is an
initial. Only whole words are mapped: a given name written as one word in pinyin (`jinping`) and as two
syllables in Wade-Giles (`chin ping`) is not.
"""

from __future__ import annotations

from functools import cache

from pypinyin import Style, lazy_pinyin

ROMANISED_SCORE = 90.0  # a name word that writes the query word's syllable in another romanisation
_HAN = range(0x4E00, 0xA000)  # CJK Unified Ideographs: every syllable of Mandarin has characters here
# pypinyin 0.55 writes these syllables' Wade-Giles otherwise than the Wade-Giles tables do (`lai` as `lei`,
# which is pinyin `lei`; `huo` as `ho`, which is pinyin `he`): the tables' spelling is used.
_WADE_GILES_SLIPS = {
    "ai": "ai", "hai": "hai", "lai": "lai", "mai": "mai", "nai": "nai", "sai": "sai", "shai": "shai",
    "wai": "wai", "huo": "huo", "shuo": "shuo", "tie": "tieh", "chua": "chua",
}  # fmt: skip

# (character, Hong Kong government romanisation, pinyin) of common Hong Kong surnames. A spelling that is
# an everyday English word and nothing else here (柯 Or) is left out.
HONG_KONG_SURNAMES = (
    ("陳", "chan", "chen"), ("李", "lee", "li"), ("利", "lee", "li"), ("張", "cheung", "zhang"),
    ("蔣", "cheung", "jiang"), ("黃", "wong", "huang"), ("王", "wong", "wang"), ("何", "ho", "he"),
    ("林", "lam", "lin"), ("劉", "lau", "liu"), ("吳", "ng", "wu"), ("伍", "ng", "wu"),
    ("梁", "leung", "liang"), ("楊", "yeung", "yang"), ("周", "chow", "zhou"), ("周", "chau", "zhou"),
    ("鄭", "cheng", "zheng"), ("謝", "tse", "xie"), ("郭", "kwok", "guo"), ("蔡", "choi", "cai"),
    ("蔡", "tsoi", "cai"), ("曾", "tsang", "zeng"), ("鄧", "tang", "deng"), ("馮", "fung", "feng"),
    ("徐", "tsui", "xu"), ("崔", "tsui", "cui"), ("許", "hui", "xu"), ("蕭", "siu", "xiao"),
    ("羅", "law", "luo"), ("羅", "lo", "luo"), ("盧", "lo", "lu"), ("葉", "yip", "ye"), ("葉", "ip", "ye"),
    ("潘", "poon", "pan"), ("朱", "chu", "zhu"), ("麥", "mak", "mai"), ("袁", "yuen", "yuan"),
    ("阮", "yuen", "ruan"), ("譚", "tam", "tan"), ("蘇", "so", "su"), ("趙", "chiu", "zhao"),
    ("高", "ko", "gao"), ("莫", "mok", "mo"), ("鍾", "chung", "zhong"), ("關", "kwan", "guan"),
    ("江", "kong", "jiang"), ("方", "fong", "fang"), ("姚", "yiu", "yao"), ("石", "shek", "shi"),
    ("孔", "hung", "kong"), ("洪", "hung", "hong"), ("區", "au", "ou"), ("邱", "yau", "qiu"),
    ("嚴", "yim", "yan"), ("薛", "sit", "xue"), ("余", "yu", "yu"), ("雷", "lui", "lei"), ("呂", "lui", "lv"),
    ("魏", "ngai", "wei"), ("侯", "hau", "hou"), ("龍", "lung", "long"), ("唐", "tong", "tang"),
    ("廖", "liu", "liao"), ("韋", "wai", "wei"), ("金", "kam", "jin"), ("甘", "kam", "gan"),
    ("溫", "wan", "wen"), ("尹", "wan", "yin"), ("文", "man", "wen"), ("賴", "lai", "lai"),
    ("黎", "lai", "li"), ("程", "ching", "cheng"), ("杜", "to", "du"), ("胡", "wu", "hu"),
    ("施", "sze", "shi"), ("孫", "suen", "sun"), ("沈", "shum", "shen"), ("岑", "shum", "cen"),
    ("錢", "chin", "qian"), ("陸", "luk", "lu"), ("戴", "tai", "dai"), ("冼", "sin", "xian"),
    ("鄺", "kwong", "kuang"), ("翁", "yung", "weng"), ("容", "yung", "rong"), ("卓", "cheuk", "zhuo"),
    ("霍", "fok", "huo"), ("宋", "sung", "song"), ("董", "tung", "dong"), ("鄒", "chau", "zou"),
    ("顏", "ngan", "yan"), ("莊", "chong", "zhuang"), ("彭", "pang", "peng"), ("鮑", "pau", "bao"),
    ("龔", "kung", "gong"), ("夏", "ha", "xia"), ("丁", "ting", "ding"), ("熊", "hung", "xiong"),
    ("司徒", "szeto", "situ"), ("簡", "kan", "jian"), ("邵", "shiu", "shao"), ("秦", "chun", "qin"),
)  # fmt: skip


def _plain(spelling: str) -> str:
    """As a search key writes it: no aspiration apostrophe, ü (pypinyin's v) as u."""
    return spelling.replace("'", "").replace("v", "u")


@cache
def _by_spelling() -> dict[str, tuple[str, ...]]:
    """Each spelling -> the other spellings of the syllables it writes (built once, about 0.2 s)."""
    chars = [chr(c) for c in _HAN]
    first: dict[str, str] = {}  # pinyin syllable -> a character read so
    read = lazy_pinyin(chars, style=Style.NORMAL, errors=lambda _unread: "-")  # one item per character
    for char, syllable in zip(chars, read, strict=True):
        if syllable.isalpha():
            first.setdefault(syllable, char)
    wade_giles = lazy_pinyin(list(first.values()), style=Style.WADEGILES)
    others: dict[str, set[str]] = {}

    def link(group: set[str], to: set[str]) -> None:
        for spelling in group:
            others.setdefault(spelling, set()).update(to - {spelling})

    wade_giles = [_WADE_GILES_SLIPS.get(p, w) for p, w in zip(first, wade_giles, strict=True)]
    system = {_plain(p): {_plain(p), _plain(w)} for p, w in zip(first, wade_giles, strict=True)}
    for group in system.values():
        link(group, group)
    for _char, hong_kong, pinyin in HONG_KONG_SURNAMES:  # a surname's spelling, not the syllable's
        group = system.get(_plain(pinyin), {_plain(pinyin)})
        link({hong_kong}, group)
        link(group, {hong_kong})
    for spelling in [s for s in others if len(s) < 2]:
        del others[spelling]
    for alts in others.values():
        alts.difference_update([s for s in alts if len(s) < 2])
    return {spelling: tuple(sorted(alts)) for spelling, alts in others.items() if alts}


def warm() -> None:
    """Build the table now (at index build), not in the first search."""
    _by_spelling()


def other_romanisations(word: str) -> tuple[str, ...]:
    """The other spellings of the syllable `word` writes, sorted (`hsi` -> `xi`; `chow` -> `chau`, `chou`,
    `zhou`); empty when `word` is not a Chinese syllable in pinyin, Wade-Giles or a Hong Kong surname spelling."""
    return _by_spelling().get(word, ())


def romanised_alike(a: str, b: str) -> bool:
    """Whether `a` and `b` are two spellings of one Chinese syllable (not the same spelling)."""
    return b in other_romanisations(a)
