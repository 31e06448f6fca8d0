"""`python -m bench`: run every benchmark, print the table, write bench/results.json."""

from bench.run import main

if __name__ == "__main__":
    raise SystemExit(main())
