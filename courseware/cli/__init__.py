"""`flask --app app ...` commands."""
