"""What a process remembers between requests to spare work: never the truth, only a copy."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Remembered(dict[K, V]):
    """A dictionary of at most `most` entries: when full, it starts again (what it held is
    simply made again when next asked for), so memory stays bounded however many keys come."""

    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most

    def keep(self, key: K, value: V) -> V:
        if len(self) >= self.most:
            self.clear()
        self[key] = value
        return value
