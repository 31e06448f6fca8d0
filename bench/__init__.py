"""Performance figures for courseware: `make bench` (never part of `make test`).

See bench/README.md for what is measured and how.
"""
