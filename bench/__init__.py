"""Tradewatch benchmark: synthetic data at scale, the product's own code paths, baselines in the same run.

Run with `make bench` (or `python -m bench --help`). Everything it generates is SYNTHETIC, lives in its own
SQLite files under bench/.data/ and its own PostgreSQL database (created and dropped), and is never written
into a user's database. Results go to bench/RESULTS.md and bench/results.json (generated, never hand-edited).
"""
