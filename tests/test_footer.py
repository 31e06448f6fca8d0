"""The site footer names the configured country's crisis line and emergency number."""

from __future__ import annotations

import html
from pathlib import Path

from courseware.models import User
from tests.test_crisis_lines import app_for, learner_client, reader, root  # noqa: F401 (fixtures)


def test_the_footer_names_the_countrys_lines(database_url: str, tmp_path: Path, root: Path,  # noqa: F811
                                             reader: User) -> None:  # noqa: F811
    uk = learner_client(app_for(database_url, tmp_path, root, "gb", COURSE_COUNTRY="GB"), reader)
    footer = html.unescape(uk.get("/").get_data(as_text=True).split("<footer")[1])
    text = " ".join(footer.replace("<strong>", "").replace("</strong>", "").split())
    assert "contact Samaritans (call 116 123, free, day or night), or call 999" in text
