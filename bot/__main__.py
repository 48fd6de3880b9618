"""`python -m bot` runs the `tradewatch` command line."""

from bot.cli import main

if __name__ == "__main__":  # not again in a search worker process (db.search.pool starts them with spawn)
    main()
