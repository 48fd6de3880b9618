"""Scheduled sync of the sources from their official URLs: catalogue, one-source runner, scheduler, locks."""
