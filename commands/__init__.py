"""Transport-free command logic: parse, resolve, query, and build a `Reply`. Never imports discord."""
