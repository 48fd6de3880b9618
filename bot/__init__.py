"""Discord adapter and process entry: config, CLI, the discord.py client and its cogs."""
