"""Database layer: SQLAlchemy models, engine, migrations, queries and source importers."""
