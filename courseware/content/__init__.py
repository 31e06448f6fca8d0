"""Parse, validate and sync modules/, quizzes/ and certificates/ (no Flask here)."""

from .model import Catalogue
from .parse import load_catalogue
from .source import ContentError, Problem
from .sync import SyncReport, content_hash, sync_catalogue

__all__ = ["Catalogue", "ContentError", "Problem", "SyncReport", "content_hash",
           "load_catalogue", "sync_catalogue"]
