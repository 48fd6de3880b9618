"""Source importers: fetch -> parse (pure, streaming) -> normalise -> load (one transaction, upsert)."""
