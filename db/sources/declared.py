"""Every data source and importer Tradewatch knows, declared once.

The citation catalogue, `tradewatch import` and `tradewatch sync`, the `[sync.<key>]` config defaults,
`/sources`, the sources and families `/watch` accepts and the trade-source preference all read this table
(through db/sources/__init__.py). docs/architecture.md has the recipe for adding a source.
"""

from __future__ import annotations

from db.sources.spec import Cadence, Importer, ImportOption, ImportPath, Source, SourceSettings, SyncSpec

OFAC_DOWNLOADS = "https://www.treasury.gov/ofac/downloads/"
# Release cadences (/sources judges data dates by them): a list OFAC amends several times a month.
OFAC_CADENCE = Cadence(30, 0, "amendments several times a month")
OFAC_SITE = "https://sanctionslist.ofac.treas.gov/"


def _ofac(names: list[str]) -> tuple[str, ...]:
    return tuple(OFAC_DOWNLOADS + name for name in names)


DATA_DATE = ImportOption(
    "data_date",
    "The date the file was published (YYYY-MM-DD); the CSV files do not say, so it is unknown without this.",
    "date",
)
DRY_RUN = ImportOption(
    "dry_run", "Read and check everything, load it, then roll back: nothing is kept.", "flag"
)
ACCEPT_MASS_CHANGE = ImportOption(
    "accept_mass_change",
    "Apply the file even if it delists or amends more of the list than the mass-change guard allows "
    "([imports] mass_change_share in config.toml, default 5%): confirms a real mass change.",
    "flag",
)

# The lists whose changes watch channels post (OFAC, CSL) are checked every two minutes: a conditional request
# (If-None-Match / If-Modified-Since) answered 304 with no body when nothing changed, so a new designation
# reaches a channel within about five minutes of its publication (docs/reliability.md has the measurement).
# Failures back off, doubling up to hourly checks (db/sync/scheduler.py).
ALERT_LIST_INTERVAL = 2.0

# The order is the order of `tradewatch sync`, its schedule and `/sources`.
SOURCES: dict[str, Source] = {
    s.key: s
    for s in [
        Source(
            "comtrade",
            "trade",
            "UN Comtrade",
            "UN Statistics Division",
            "https://comtradeplus.un.org/",
            importer="comtrade",
            preference=0,
        ),
        Source(
            "china_customs_derived",
            "trade",
            "China monthly exports by partner, HS-6 (derived from UN Comtrade)",
            "UN Comtrade, China-reported; table by qennis/ChinaCriticalMineralComtrade",
            "https://github.com/qennis/ChinaCriticalMineralComtrade",
            "Derived table: 8-digit Chinese tariff lines rolled up to HS-6 by the table's author.",
            importer="trade-csv",
            preference=1,
            cadence=Cadence(31, 90, "monthly data (UN Comtrade), about 3 months after the month"),
        ),
        Source(
            "imf_imts",
            "trade",
            "IMF International Trade in Goods (IMTS)",
            "International Monetary Fund",
            "https://data.imf.org/",
            importer="imf",
            preference=3,
            cadence=Cadence(366, 180, "annual totals, about six months after the year"),
        ),
        Source(
            "trade_csv",
            "trade",
            "Monthly trade table (CSV)",
            "as named by the importer's --source-title",
            importer="trade-csv",
            preference=2,
        ),
        Source(
            "ofac_sdn",
            "list",
            "OFAC Specially Designated Nationals (SDN) List",
            "U.S. Treasury, OFAC",
            OFAC_SITE,
            importer="ofac",
            family="ofac",
            sync=SyncSpec(
                "OFAC SDN list (legacy CSV set)",
                "files",
                SourceSettings(
                    urls=_ofac(["sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv"]),
                    interval_minutes=ALERT_LIST_INTERVAL,
                    stale_hours=48,
                ),
                import_folder=True,
            ),
            cadence=OFAC_CADENCE,
        ),
        Source(
            "ofac_cons",
            "list",
            "OFAC Consolidated Sanctions List (non-SDN)",
            "U.S. Treasury, OFAC",
            OFAC_SITE,
            importer="ofac",
            family="ofac",
            sync=SyncSpec(
                "OFAC Consolidated (non-SDN) list (CSV set)",
                "files",
                SourceSettings(
                    urls=_ofac(["cons_prim.csv", "cons_add.csv", "cons_alt.csv", "cons_comments.csv"]),
                    interval_minutes=ALERT_LIST_INTERVAL,
                    stale_hours=72,
                ),
                import_folder=True,
            ),
            cadence=OFAC_CADENCE,
        ),
        Source(
            "ofac_changes",
            "list",
            "OFAC Sanctions List Service change files",
            "U.S. Treasury, OFAC",
            "https://sanctionslistservice.ofac.treas.gov/changes/latest",
            "Recorded by the sync to notice OFAC publications; the lists themselves come from ofac_sdn/ofac_cons.",
            sync=SyncSpec(
                "OFAC Sanctions List Service change file",
                "record",
                SourceSettings(
                    urls=("https://sanctionslistservice.ofac.treas.gov/changes/latest",),
                    interval_minutes=10,
                    stale_hours=24,
                ),
                triggers=("ofac_sdn", "ofac_cons"),
            ),
            cadence=OFAC_CADENCE,
        ),
        Source(
            "csl",
            "list",
            "Consolidated Screening List",
            "U.S. International Trade Administration (trade.gov)",
            "https://www.trade.gov/consolidated-screening-list",
            importer="csl",
            sync=SyncSpec(
                "trade.gov Consolidated Screening List (JSON)",
                "files",
                SourceSettings(
                    urls=("https://api.trade.gov/static/consolidated_screening_list/consolidated.json",),
                    interval_minutes=ALERT_LIST_INTERVAL,
                    stale_hours=72,
                ),
            ),
            cadence=Cadence(7, 0, "updates weekly or more often"),
        ),
        Source(
            "opensanctions",
            "list",
            "OpenSanctions",
            "OpenSanctions",
            "https://www.opensanctions.org/",
            importer="opensanctions",
            sync=SyncSpec(
                "OpenSanctions dataset (index, exports and deltas)",
                "opensanctions",
                SourceSettings(
                    urls=("https://data.opensanctions.org/datasets/latest/sanctions/index.json",),
                    interval_minutes=360,
                    stale_hours=48,
                    resource="entities.ftm.json",
                ),
            ),
            cadence=Cadence(2, 0, "daily builds"),
        ),
        Source(
            "hs",
            "reference",
            "Harmonized System nomenclature (HS 2022)",
            "WCO / UN Comtrade via datasets/harmonized-system",
            "https://github.com/datasets/harmonized-system",
            importer="hs",
            sync=SyncSpec(
                "Harmonized System nomenclature",
                "files",
                SourceSettings(
                    urls=(
                        "https://raw.githubusercontent.com/datasets/harmonized-system/main/data/"
                        "harmonized-system.csv",
                    ),
                    interval_minutes=7 * 24 * 60,
                    stale_hours=120 * 24,
                ),
            ),
            cadence=Cadence(5 * 366, 0, "a new edition every five years (HS 2022; HS 2027 next)"),
        ),
        Source(
            "curated",
            "list",
            "Tradewatch curated facts",
            "the team's own curated files, each fact cited",
            importer="curated",
        ),
    ]
}

IMPORTERS: dict[str, Importer] = {
    i.name: i
    for i in [
        Importer(
            "hs",
            "db.ingest.hs",
            "Load the HS nomenclature CSV (section, hscode, description, parent, level).\n\n"
            "Example: tradewatch import hs harmonized-system.csv",
        ),
        Importer(
            "comtrade",
            "db.ingest.comtrade",
            "Load UN Comtrade API v1 JSON: a saved response FILE, or --api to fetch it.\n\n"
            "\b\nExamples:\n"
            "  tradewatch import comtrade india_exports_2022_single_partner.json\n"
            "  tradewatch import comtrade --api --reporter CN --partner RU --cmd 8542 --period 2022 --freq M --flow X\n"
            "Without COMTRADE_API_KEY the key-less preview endpoint is used (500 records per call): requests are\n"
            "split until no call hits that limit, so no record is lost.",
            options=(DRY_RUN,),
        ),
        Importer(
            "trade-csv",
            "db.ingest.trade_csv",
            "Load a monthly trade CSV through a column mapping (YAML file and/or the options here).\n\n"
            "Example: tradewatch import trade-csv deep_dive_hs6_monthly.csv --mapping china_exports_hs6_monthly",
            options=(
                ImportOption(
                    "mapping",
                    "Mapping YAML file, or the name of a shipped one (e.g. china_exports_hs6_monthly).",
                ),
                ImportOption("period_col", "Column with the month (2024-03, 2024-03-01 or 202403)."),
                ImportOption("partner_col", "Column with the partner (name, ISO2/ISO3 or Comtrade code)."),
                ImportOption("reporter_col", "Column with the reporter (else give --reporter)."),
                ImportOption("reporter", "The reporter of every row, e.g. CN."),
                ImportOption("flow_col", "Column with the flow: X/M or export/import (else give --flow)."),
                ImportOption("flow", "The flow of every row: X exports, M imports.", "choice", ("X", "M")),
                ImportOption(
                    "hs_col", "Column with the HS code (2/4/6 digits; 8/10-digit lines roll up to HS-6)."
                ),
                ImportOption("value_col", "Column with the trade value."),
                ImportOption(
                    "value_scale", "Multiply values by this to get US dollars (1000 for kUSD).", "number"
                ),
                ImportOption("qty_col", "Column with the quantity."),
                ImportOption("qty_unit", "Unit of the quantity column (e.g. kg)."),
                ImportOption("weight_col", "Column with the net weight."),
                ImportOption("weight_scale", "Multiply weights by this to get kilograms.", "number"),
                ImportOption("freq", "M monthly (default) or A annual.", "choice", ("M", "A")),
                ImportOption("source_key", "Source key answers cite (a catalogue key or a new one)."),
                ImportOption("source_title", "Title of a new source, as answers cite it."),
                ImportOption("publisher", "Publisher of a new source, as answers cite it."),
                ImportOption("source_url", "Where the source can be found."),
                ImportOption(
                    "data_date", "The date the data describes (default: the last period in the file)."
                ),
                ImportOption(
                    "replace",
                    "The file is the whole table for its reporters: remove rows it no longer has.",
                    "switch",
                ),
                DRY_RUN,
            ),
            config_paths=("lookups_dir",),
            requires_options="give --mapping NAME|FILE or the column options (see --help)",
        ),
        Importer(
            "imf",
            "db.ingest.imf",
            'Load an IMF IMTS bilateral CSV (annual all-goods exports/imports by partner, stored as HS "TOTAL").'
            "\n\nExample: tradewatch import imf RU_trade.csv",
            options=(DRY_RUN,),
            config_paths=("lookups_dir",),
        ),
        Importer(
            "ofac",
            "db.ingest.ofac",
            "OFAC SDN or non-SDN list: a folder with sdn.csv (or cons_prim.csv) and its siblings, or an XML file.",
            ImportPath("PATH", exists=True, dir_okay=True),
            options=(DATA_DATE, ACCEPT_MASS_CHANGE),
        ),
        Importer(
            "csl",
            "db.ingest.csl",
            "trade.gov Consolidated Screening List, CSV (either layout) or the API's JSON.",
            ImportPath("PATH", exists=True),
            options=(
                DATA_DATE,
                ImportOption(
                    "partial", "The file is an excerpt: entries missing from it are not delisted.", "flag"
                ),
                ACCEPT_MASS_CHANGE,
            ),
        ),
        Importer(
            "opensanctions",
            "db.ingest.opensanctions",
            "OpenSanctions export: entities.ftm.json, targets.nested.json, targets.simple.csv, or a folder.",
            ImportPath("PATH", exists=True, dir_okay=True),
            options=(
                ImportOption(
                    "dataset", "Dataset name (e.g. ua_war_sanctions); default: from index.json or the file."
                ),
                ImportOption(
                    "delta", "PATH is a delta folder (delta.json + one folder per version).", "flag"
                ),
                ACCEPT_MASS_CHANGE,
            ),
        ),
        Importer(
            "curated",
            "db.ingest.curated",
            "The team's curated YAML files (default: the configured curated folder). Any error changes nothing.",
            ImportPath("PATH", exists=True, dir_okay=True, config_default="curated_dir"),
        ),
    ]
}
