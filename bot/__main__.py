"""`python -m bot` runs the `tradewatch` command line."""

from bot.cli import main

main()
