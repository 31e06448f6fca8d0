"""A coarse, readable name for a device, from nothing but its User-Agent header.

Shown beside each active session ("Firefox on Windows") so a person can recognise theirs. It is
a hint, not proof: a User-Agent says whatever the client wants. No address or place is derived.
"""

from __future__ import annotations

# (marker in the User-Agent, name), first match wins: order matters (Edge and Opera say Chrome,
# Chrome says Safari)
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("CrOS", "ChromeOS"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
            ("Macintosh", "macOS"), ("Linux", "Linux"))

USER_AGENT_MAX = 200


def device_label(user_agent: str | None) -> str:
    text = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in text), None)
    system = next((name for marker, name in _SYSTEMS if marker in text), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return "Unknown device"


def clean_user_agent(user_agent: str | None) -> str | None:
    """Printable characters only, truncated: it is stored and shown back."""
    if not user_agent:
        return None
    text = "".join(c for c in user_agent if c.isprintable())[:USER_AGENT_MAX].strip()
    return text or None
