"""Infrastructure: configuration, the database engine, migrations."""
