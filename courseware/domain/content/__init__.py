"""Parse, validate and render modules/, quizzes/ and certificates/ (no Flask, no database)."""

from courseware.domain.content.model import Catalogue, content_hash
from courseware.domain.content.parse import load_catalogue
from courseware.domain.content.source import ContentError, Problem

__all__ = ["Catalogue", "ContentError", "Problem", "content_hash", "load_catalogue"]
