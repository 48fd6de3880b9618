"""Read queries: the only place SQL lives (select() with bound parameters, LIMIT caps)."""
