"""Plain rules: no Flask, no database. Tested directly."""
