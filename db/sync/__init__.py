"""Scheduled sync of the sources from their official URLs (declared in db/sources): one-source runner, scheduler, locks."""
