"""Use cases over the database, Flask-free: each takes a Session, flushes, never commits."""
