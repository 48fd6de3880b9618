"""End-to-end tests: the real processes against the Discord stand-in and local source files."""
