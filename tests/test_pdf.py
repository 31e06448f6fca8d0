"""Tests for the certificate PDF renderer (courseware/pdf.py)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from courseware.domain.pdf import (
    CertificatePrint,
    CertificateRenderError,
    RefusedURLError,
    format_long_date,
    make_url_fetcher,
    render_certificate_html,
    render_certificate_pdf,
)

# WeasyPrint 70 warns at import time (DeprecationWarning from weasyprint/text/ffi.py)
# when the system lacks the optional libharfbuzz-subset library; it then falls back
# to fontTools, which the renderer handles (see courseware/pdf.py). This is an
# environment notice from a third-party package, not a problem in our code, so it
# is ignored here, for this exact message only; everything else stays an error.
pytestmark = pytest.mark.filterwarnings(
    "ignore:HarfBuzz-Subset will be required by future versions of WeasyPrint:DeprecationWarning"
)

ROOT = Path(__file__).resolve().parents[1]
CERTIFICATES_DIR = ROOT / "certificates"

SAMPLE = CertificatePrint(
    holder_name="Amélie Okonkwo-Hartmann",
    track_title="Peer Mentor Foundations",
    issued_on=date(2026, 11, 21),
    expires_on=date(2028, 11, 21),
    code_display="ABCDE-FGHJK-MNPQR-STVW-XYZ0-1234",
    verify_url="https://mentors.example.org/verify/ABCDEFGHJKMNPQRSTVWXYZ01234",
    issuer_name="Courseware Peer Mentor Program",
)


def _replace(**changes: object) -> CertificatePrint:
    fields = {**SAMPLE.__dict__, **changes}
    return CertificatePrint(**fields)  # type: ignore[arg-type]


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _squash(text: str) -> str:
    """Drop whitespace: text extraction may break long lines anywhere."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_certificate_pdf(SAMPLE, CERTIFICATES_DIR)


# --- content -----------------------------------------------------------------


def test_pdf_contains_holder_track_code_and_dates(sample_pdf: bytes) -> None:
    assert sample_pdf.startswith(b"%PDF-")
    text = _text(sample_pdf)
    assert SAMPLE.holder_name in text
    assert SAMPLE.track_title in text
    assert SAMPLE.code_display in text
    assert SAMPLE.issuer_name.upper() in text.upper()
    assert "21 November 2026" in text
    assert "21 November 2028" in text
    squashed = _squash(text)
    assert _squash(SAMPLE.verify_url) in squashed
    assert (
        _squash(
            f"Verify this certificate at {SAMPLE.verify_url}: its status there is "
            "authoritative (it may have been suspended, revoked or expired since printing)."
        )
        in squashed
    )
    assert "prior learning" not in text


def test_pdf_is_one_a4_landscape_page(sample_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(sample_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    # A4 landscape: 297 x 210 mm = 841.89 x 595.28 pt.
    assert float(box.width) == pytest.approx(841.89, abs=0.5)
    assert float(box.height) == pytest.approx(595.28, abs=0.5)


def test_verify_url_is_a_link(sample_pdf: bytes) -> None:
    page = PdfReader(io.BytesIO(sample_pdf)).pages[0]
    uris = [
        annot.get_object()["/A"]["/URI"]
        for annot in page.get("/Annots", [])
        if "/A" in annot.get_object()
    ]
    assert SAMPLE.verify_url in uris


def test_non_web_verify_url_is_not_made_a_link() -> None:
    html = render_certificate_html(_replace(verify_url="javascript:alert(1)"), CERTIFICATES_DIR)
    assert "href" not in html.split("<body>", 1)[1]


def test_no_expiry_and_manual_issue() -> None:
    pdf = render_certificate_pdf(_replace(expires_on=None, manual=True), CERTIFICATES_DIR)
    text = _text(pdf)
    assert "Does not expire" in text
    assert "Awarded through recognition of prior learning." in text


def test_very_long_name_and_track_stay_on_one_page() -> None:
    long_name = (
        "Maximiliana Wilhelmina Anastasia Ngozi-Featherstonehaugh de la Cruz "
        "y Montenegro-Villalobos Okonkwo Abernathy Smythe-Llewellyn-Hughes"
    )[:120]
    assert len(long_name) == 120
    for data in (
        _replace(holder_name=long_name),
        _replace(holder_name="W" * 120),  # no break opportunity at all
        _replace(holder_name=long_name, track_title="Advanced Peer Mentoring " * 5, manual=True),
    ):
        pdf = render_certificate_pdf(data, CERTIFICATES_DIR)
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
        assert _squash(data.holder_name) in _squash(_text(pdf))


def test_markup_in_fields_is_rendered_as_literal_text() -> None:
    data = _replace(
        holder_name="<b>Ann</b> & <i>Bo</i>",
        track_title='<img src="file:///etc/passwd"> Track',
    )
    html = render_certificate_html(data, CERTIFICATES_DIR)
    assert "<b>Ann</b>" not in html
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; &lt;i&gt;Bo&lt;/i&gt;" in html
    # Rendering succeeds (the escaped <img> is text, so nothing is fetched) and
    # the markup shows up verbatim.
    text = _text(render_certificate_pdf(data, CERTIFICATES_DIR))
    assert "<b>Ann</b> & <i>Bo</i>" in text
    assert '<img src="file:///etc/passwd"> Track' in text


def test_format_long_date() -> None:
    assert format_long_date(date(2026, 11, 21)) == "21 November 2026"
    assert format_long_date(date(2027, 1, 2)) == "2 January 2027"


# --- metadata and reproducibility ----------------------------------------------


def test_metadata_is_fixed(sample_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(sample_pdf))
    meta = reader.metadata
    assert meta is not None
    assert meta.title == f"Certificate: {SAMPLE.track_title} \u2014 {SAMPLE.holder_name}"
    assert meta.author == SAMPLE.issuer_name
    assert meta["/CreationDate"] == "D:20261121000000Z"
    assert "/ModDate" not in meta
    trailer_id = reader.trailer["/ID"]
    assert len(trailer_id) == 2


def test_two_renders_are_byte_identical_even_when_the_clock_moves(
    sample_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Font subsetting (fontTools fallback) stamps the wall clock into each font
    # unless the renderer pins it; move the clock a day ahead to prove it does.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86_400)
    again = render_certificate_pdf(SAMPLE, CERTIFICATES_DIR)
    assert again == sample_pdf


def test_render_is_identical_in_another_process(sample_pdf: bytes, tmp_path: Path) -> None:
    out = tmp_path / "other.pdf"
    # Fresh interpreter, other hash seed and time zone: no state shared with this one.
    script = (
        "import datetime, sys, warnings\n"
        "from pathlib import Path\n"
        "warnings.simplefilter('ignore', DeprecationWarning)\n"
        "from courseware.domain.pdf import CertificatePrint, render_certificate_pdf\n"
        f"data = CertificatePrint(**{SAMPLE.__dict__!r})\n"
        "pdf = render_certificate_pdf(data, Path(sys.argv[1]))\n"
        "Path(sys.argv[2]).write_bytes(pdf)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "Pacific/Kiritimati"}
    env.pop("SOURCE_DATE_EPOCH", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    subprocess.run(
        [sys.executable, "-c", script, str(CERTIFICATES_DIR), str(out)],
        check=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.read_bytes() == sample_pdf


def test_different_certificates_get_different_ids(sample_pdf: bytes) -> None:
    other = render_certificate_pdf(
        _replace(code_display="ZZZZZ-FGHJK-MNPQR-STVW-XYZ0-1234"), CERTIFICATES_DIR
    )
    id_a = PdfReader(io.BytesIO(sample_pdf)).trailer["/ID"][0]
    id_b = PdfReader(io.BytesIO(other)).trailer["/ID"][0]
    assert id_a != id_b


@pytest.mark.parametrize("preset", [None, "1234567890"])
def test_source_date_epoch_is_restored(monkeypatch: pytest.MonkeyPatch, preset: str | None) -> None:
    if preset is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", preset)
    render_certificate_pdf(SAMPLE, CERTIFICATES_DIR)
    assert os.environ.get("SOURCE_DATE_EPOCH") == preset


def test_weasyprint_is_not_imported_with_the_module() -> None:
    code = "import sys, courseware.domain.pdf; print('weasyprint' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip() == "False"


# --- URL fetcher confinement ---------------------------------------------------


@pytest.fixture
def cert_dir(tmp_path: Path) -> Path:
    """A private copy of the certificates directory, next to a secret file."""
    target = tmp_path / "certificates"
    shutil.copytree(CERTIFICATES_DIR, target)
    (tmp_path / "secret.txt").write_text("top secret")
    return target


def test_fetcher_serves_files_inside_the_directory(cert_dir: Path) -> None:
    fetcher = make_url_fetcher(cert_dir)
    response = fetcher((cert_dir / "certificate.css").as_uri())
    try:
        assert response.read() == (cert_dir / "certificate.css").read_bytes()
        assert response.content_type == "text/css"
    finally:
        response.close()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "http://example.com/x.png",
        "https://example.com/x.css",
        "ftp://example.com/x.png",
        "data:text/css,body{color:red}",
        "file://evil.example.com/share/x.png",
    ],
)
def test_fetcher_refuses_outside_urls(cert_dir: Path, url: str) -> None:
    with pytest.raises(RefusedURLError):
        make_url_fetcher(cert_dir)(url)


def test_fetcher_refuses_traversal_symlinks_and_missing_files(cert_dir: Path) -> None:
    fetcher = make_url_fetcher(cert_dir)
    base = cert_dir.as_uri()
    (cert_dir / "leak.css").symlink_to(cert_dir.parent / "secret.txt")
    (cert_dir / "up").symlink_to(cert_dir.parent, target_is_directory=True)
    for url in (
        f"{base}/../secret.txt",
        f"{base}/%2e%2e/secret.txt",
        f"{base}/leak.css",
        f"{base}/up/secret.txt",
        f"{base}/missing.css",
        f"{base}/",
    ):
        with pytest.raises(RefusedURLError):
            fetcher(url)


def test_sibling_directory_with_common_prefix_is_refused(cert_dir: Path) -> None:
    sibling = cert_dir.parent / (cert_dir.name + "-other")
    sibling.mkdir()
    (sibling / "x.css").write_text("body{}")
    with pytest.raises(RefusedURLError):
        make_url_fetcher(cert_dir)((sibling / "x.css").as_uri())


@pytest.mark.parametrize(
    "snippet",
    [
        '<img src="file:///etc/passwd" alt="">',
        '<img src="http://example.com/x.png" alt="">',
        '<img src="../secret.txt" alt="">',
        '<link rel="stylesheet" href="https://example.com/evil.css">',
    ],
)
def test_render_aborts_when_template_references_outside_files(cert_dir: Path, snippet: str) -> None:
    template = cert_dir / "template.html"
    template.write_text(template.read_text().replace("</body>", f"{snippet}</body>"))
    with pytest.raises(CertificateRenderError) as excinfo:
        render_certificate_pdf(SAMPLE, cert_dir)
    assert isinstance(excinfo.value.__cause__, RefusedURLError)


def test_render_from_a_copied_directory_matches(cert_dir: Path, sample_pdf: bytes) -> None:
    # The output does not depend on where the certificates directory lives.
    assert render_certificate_pdf(SAMPLE, cert_dir) == sample_pdf
