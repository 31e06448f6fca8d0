"""Certificate PDF rendering (Flask-free).

``render_certificate_pdf`` turns a :class:`CertificatePrint` into a one-page A4
landscape PDF with WeasyPrint. The output is byte-for-byte reproducible for the
same input. WeasyPrint 70 writes no creation date and no trailer /ID unless asked
(checked in its source: weasyprint/pdf/__init__.py and pydyf.PDF.write), and it
does not read ``SOURCE_DATE_EPOCH`` itself, so we set both from the certificate:

* ``CreationDate`` comes from ``<meta name="dcterms.created">`` = issued_on at
  00:00 UTC (WeasyPrint's documented HTML-metadata route, no environment
  variable needed);
* the trailer ``/ID`` comes from the ``pdf_identifier`` rendering option, derived
  from the certificate code and issue date (pydyf adds the md5 of the content as
  the second half, which is deterministic too);
* embedded font subsets: when the HarfBuzz-Subset library is missing, WeasyPrint
  subsets fonts with fontTools, which stamps each font's ``head.modified`` with the
  current time unless ``SOURCE_DATE_EPOCH`` is set. Neither WeasyPrint nor
  fontTools offers an API argument for this, so the environment variable is set
  for the duration of the render, under a lock, and restored (see
  :func:`_source_date_epoch`).

WeasyPrint is imported lazily inside the functions that need it: importing it
costs about a second and the web app must not pay that at start-up.

Security: the HTML is produced by a Jinja2 environment with autoescape on, and
WeasyPrint may only fetch files inside ``certificates_dir`` (see
:func:`make_url_fetcher`): no network, no ``file://`` outside the directory, no
``data:`` URIs (the QR code is inline SVG, so none are needed).
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
import segno
from markupsafe import Markup

if TYPE_CHECKING:  # pragma: no cover - typing only
    from weasyprint.urls import URLFetcher

__all__ = [
    "CertificatePrint",
    "CertificateRenderError",
    "RefusedURLError",
    "format_long_date",
    "make_url_fetcher",
    "render_certificate_html",
    "render_certificate_pdf",
]

TEMPLATE_NAME = "template.html"

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class CertificatePrint:
    holder_name: str
    track_title: str
    issued_on: date
    expires_on: date | None
    code_display: str  # e.g. "ABCDE-FGHJK-MNPQR-STVW-XYZ0-1234"
    verify_url: str  # e.g. "https://mentors.example.org/verify/ABCDEFGHJKMNPQRSTVWXYZ01234"
    issuer_name: str  # e.g. "Courseware Peer Mentor Program"
    manual: bool = False  # issued by recognition of prior learning


class RefusedURLError(ValueError):
    """The certificate renderer refused to fetch a resource."""


class CertificateRenderError(RuntimeError):
    """Rendering failed (e.g. the template referenced a forbidden resource)."""


def format_long_date(value: date) -> str:
    """``date(2026, 11, 21)`` -> ``"21 November 2026"`` (locale-independent)."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def make_url_fetcher(certificates_dir: Path) -> URLFetcher:
    """Return a WeasyPrint URL fetcher confined to ``certificates_dir``.

    Only ``file:`` URLs naming a regular file inside the directory (after
    resolving symlinks and ``..``) are served; everything else (http, https,
    ftp, data, file outside the directory, remote file hosts) raises
    :class:`RefusedURLError`.

    The fetcher is created with ``fail_on_errors=True``: when used by WeasyPrint, a
    refusal aborts the render instead of silently dropping the resource.
    WeasyPrint 70 requires a ``URLFetcher`` instance (it reads private attributes
    of it), so this returns an instance of a subclass rather than a plain function;
    it is callable as ``fetcher(url)`` like the older function-style fetchers.
    """
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = Path(certificates_dir).resolve(strict=True)
    if not root.is_dir():
        raise NotADirectoryError(str(root))

    class _ConfinedURLFetcher(URLFetcher):
        def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
            path = _confined_path(root, url)
            mime_type, _ = mimetypes.guess_type(path.name)
            return URLFetcherResponse(
                path.as_uri(),
                body=path.read_bytes(),
                headers={"Content-Type": mime_type or "application/octet-stream"},
            )

    return _ConfinedURLFetcher(allowed_protocols=("file",), fail_on_errors=True)


def _confined_path(root: Path, url: str) -> Path:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise RefusedURLError(f"malformed URL refused: {url!r}") from exc
    if parts.scheme.lower() != "file":
        raise RefusedURLError(f"only files inside the certificates directory: {url!r}")
    if parts.netloc not in ("", "localhost"):
        raise RefusedURLError(f"remote file host refused: {url!r}")
    raw_path = url2pathname(unquote(parts.path))
    if "\x00" in raw_path:
        raise RefusedURLError(f"malformed file URL refused: {url!r}")
    path = Path(raw_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise RefusedURLError(f"file outside the certificates directory refused: {url!r}")
    return path


def _qr_svg(url: str) -> Markup:
    # segno emits only geometry (a path and its viewBox), never the encoded text,
    # so marking it safe cannot inject markup. omitsize: CSS sets the size.
    # border=4 modules is the quiet zone scanners expect (left transparent).
    svg = segno.make(url, error="m").svg_inline(
        border=4, omitsize=True, dark="#1b2a41", svgclass="qr", lineclass=None
    )
    return Markup(svg)  # noqa: S704 - trusted segno output, see comment above


def _size_class(text: str, steps: tuple[tuple[int, str], ...], default: str) -> str:
    for limit, name in steps:
        if len(text) <= limit:
            return name
    return default


def _environment(certificates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(certificates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_certificate_html(data: CertificatePrint, certificates_dir: Path) -> str:
    """Render the certificate template to an HTML string (no WeasyPrint needed)."""
    template = _environment(Path(certificates_dir)).get_template(TEMPLATE_NAME)
    return template.render(
        cert=data,
        document_title=f"Certificate: {data.track_title} \u2014 {data.holder_name}",
        created_w3c=f"{data.issued_on.isoformat()}T00:00:00Z",
        issued_on_text=format_long_date(data.issued_on),
        expires_on_text=(
            format_long_date(data.expires_on) if data.expires_on is not None else None
        ),
        qr_svg=_qr_svg(data.verify_url),
        # Clickable in the PDF only for web URLs (never javascript:, file:, ...).
        verify_link=data.verify_url.lower().startswith(("https://", "http://")),
        name_size=_size_class(
            data.holder_name, ((28, "xl"), (38, "l"), (52, "m"), (90, "s")), "xs"
        ),
        track_size=_size_class(data.track_title, ((48, "l"), (80, "m"), (120, "s")), "xs"),
    )


def _pdf_identifier(data: CertificatePrint) -> bytes:
    seed = f"courseware-certificate\x1f{data.code_display}\x1f{data.issued_on.isoformat()}"
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32].encode("ascii")


# Serialises renders that temporarily set SOURCE_DATE_EPOCH (process-wide state).
_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _source_date_epoch(epoch: int) -> Iterator[None]:
    """Set ``SOURCE_DATE_EPOCH`` while rendering, then restore the previous value.

    Why the environment: fontTools (WeasyPrint's fallback font subsetter) reads the
    time for each subset font's ``head.modified`` from ``SOURCE_DATE_EPOCH`` or the
    wall clock (fontTools.misc.timeTools.timestampNow) and WeasyPrint 70 exposes no
    option for it. Mutating os.environ is process-wide, hence the lock: no other
    render can interleave, and the previous value (if any) is put back even when
    rendering fails. Nothing else in the app reads this variable.
    """
    with _ENV_LOCK:
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
            else:
                os.environ["SOURCE_DATE_EPOCH"] = previous


def render_certificate_pdf(data: CertificatePrint, certificates_dir: Path) -> bytes:
    """Render ``data`` as a one-page A4 landscape PDF and return its bytes."""
    import weasyprint  # lazy: ~1 s import, only paid when a PDF is requested
    from weasyprint.urls import FatalURLFetchingError

    certificates_dir = Path(certificates_dir).resolve(strict=True)
    html = render_certificate_html(data, certificates_dir)
    fetcher = make_url_fetcher(certificates_dir)
    created = datetime(data.issued_on.year, data.issued_on.month, data.issued_on.day, tzinfo=UTC)
    try:
        with _source_date_epoch(int(created.timestamp())):
            document = weasyprint.HTML(
                string=html,
                base_url=certificates_dir.as_uri() + "/",
                url_fetcher=fetcher,
            )
            pdf = document.write_pdf(pdf_identifier=_pdf_identifier(data))
    except FatalURLFetchingError as exc:
        # FatalURLFetchingError derives from BaseException; turn it into an
        # ordinary exception so web error handlers see it.
        raise CertificateRenderError(str(exc)) from exc.__cause__
    assert isinstance(pdf, bytes)
    return pdf
