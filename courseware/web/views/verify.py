"""Public pages for programs: verify a code or a credential, the issuer, its keys and lists."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from courseware.domain.codes import MalformedCode, format_code, parse_code
from courseware.domain.statuses import CertificateStatus, ContentKind, StatusPurpose
from courseware.infra import metrics
from courseware.services import catalogue, certificates, credentials, keys
from courseware.web import db
from courseware.web.errors import api_error
from courseware.web.forms import CredentialForm, VerifyForm
from courseware.web.signing import issuer, signer
from courseware.web.views.common import certificate_or_404, issue_context, now

bp = Blueprint("verify", __name__)

DOCUMENT_TYPES = ("application/json", "application/ld+json")


@bp.route("/verify")
def form() -> ResponseReturnValue:
    verify_form = VerifyForm(request.args)
    if "code" in request.args:
        if verify_form.validate():
            try:
                code = parse_code(verify_form.code.data or "")
            except MalformedCode as exc:
                verify_form.code.errors = [str(exc)]
            else:
                return redirect(url_for("verify.result", code=code))
        return render_template("verify/form.html", form=verify_form,
                               credential_form=CredentialForm(formdata=None)), 400
    return render_template("verify/form.html", form=verify_form,
                           credential_form=CredentialForm(formdata=None))


@bp.route("/verify", methods=["POST"])
def check() -> ResponseReturnValue:
    """A pasted or uploaded credential, checked and explained. Nothing of it is stored."""
    credential_form = CredentialForm()
    page = {"form": VerifyForm(formdata=None), "credential_form": credential_form}
    if not credential_form.validate_on_submit():
        return render_template("verify/form.html", **page), 422
    upload = request.files.get(credential_form.file.name)
    pasted = credential_form.credential.data or ""
    if upload is not None and upload.filename:
        raw = upload.stream.read(credentials.MAX_CREDENTIAL_BYTES + 1)
        if pasted.strip():
            credential_form.file.errors = ["Paste a credential or choose a file, not both."]
            return render_template("verify/form.html", **page), 422
        if len(raw) > credentials.MAX_CREDENTIAL_BYTES:
            credential_form.file.errors = ["This file is larger than 64 KiB: no credential is "
                                           "that large. Choose the .jwt file you were given."]
            return render_template("verify/form.html", **page), 413
        token = raw.decode("utf-8", errors="replace")
    else:
        if len(pasted.encode("utf-8", "replace")) > credentials.MAX_CREDENTIAL_BYTES:
            credential_form.credential.errors = ["This is larger than 64 KiB: no credential is "
                                                 "that large."]
            credential_form.credential.data = ""
            return render_template("verify/form.html", **page), 413
        if not pasted.strip():
            credential_form.credential.errors = ["Paste a credential (the text of its .jwt "
                                                 "file) or choose the file."]
            return render_template("verify/form.html", **page), 422
        token = pasted
    report = credentials.check(db.session(), token, issuer(), now())
    return render_template("verify/check.html", report=report, **page)


@bp.route("/verify/<path:code>")
def result(code: str) -> ResponseReturnValue:
    try:
        canonical = parse_code(code)
    except MalformedCode as exc:
        metrics.count_lookup("page", "malformed_code")
        return render_template("verify/result.html", problem=str(exc), code=code[:60],
                               form=VerifyForm(data={"code": code[:100]})), 400
    cert = certificates.find(db.session(), canonical)
    if cert is None:
        metrics.count_lookup("page", "not_found")
        return render_template(
            "verify/result.html", code=format_code(canonical), form=VerifyForm(),
            problem="No certificate has this code. Check it against the certificate, or ask "
                    "the holder for a new copy."), 404
    record = certificates.public_record(cert, now(), current_app.config["BASE_URL"])
    metrics.count_lookup("page", record["status"])
    return render_template("verify/result.html", cert=cert, record=record,
                           code=format_code(canonical), form=VerifyForm())


@bp.route("/certificates/<code>.pdf")
def pdf(code: str) -> ResponseReturnValue:
    cert = certificate_or_404(code)
    data = cert.pdf
    if data is None:
        # asked for before its job rendered it: render it now, keep it with a short write
        # of its own (this request's session only reads), and serve what was kept
        rendered = certificates.render_pdf(cert, issue_context())
        with db.database().session() as write:
            data = certificates.store_pdf(write, cert.id, rendered)
            write.commit()
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="certificate-{cert.code}.pdf"',
        "Cache-Control": "no-cache",
    })


def machine_client() -> bool:
    """Anything but a browser asking for HTML: JSON errors, never an HTML page."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html"


def _wants_document() -> str | None:
    """The JSON type a client explicitly asked for; None means the HTML page."""
    best = request.accept_mimetypes.best_match(["text/html", *DOCUMENT_TYPES])
    return best if best in DOCUMENT_TYPES else None


def _document(body: dict[str, Any], mimetype: str) -> Response:
    response = jsonify(body)
    response.mimetype = mimetype
    response.headers["Vary"] = "Accept"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/certificates/<code>/credential.jwt")
def credential(code: str) -> ResponseReturnValue:
    cert = certificate_or_404(code)
    status = certificates.cert_status(cert, now())
    if status in (CertificateStatus.REVOKED, CertificateStatus.SUSPENDED):
        message = (f"This certificate is {status}, so no signed credential is issued for it. "
                   f"Its verification page says more: {issuer().credential_id(cert.code)}")
        if machine_client():
            return api_error(410, "gone", message, Vary="Accept")
        return render_template("error.html", status=410, title="No credential",
                               message=message), 410, {"Vary": "Accept"}
    s = db.session()
    token = credentials.signed_credential(s, cert, issuer(), signer(), now())
    s.commit()  # only if its status-list position had to be made now (never, after migration)
    return Response(token, mimetype="application/jwt", headers={
        "Content-Disposition": f'attachment; filename="credential-{cert.code}.jwt"',
        "Cache-Control": "no-store",
        "Vary": "Accept",
    })


@bp.route("/.well-known/jwks.json")
def jwks() -> ResponseReturnValue:
    signer()  # publish a key even before the first credential is signed
    response = jsonify(keys.jwks(db.session(), current_app.config["BASE_URL"]))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/.well-known/keys/<thumbprint>")
def key(thumbprint: str) -> ResponseReturnValue:
    """A kid URL: the single public JWK it names (what a verifier dereferences)."""
    jwk = keys.public_jwk(db.session(), current_app.config["BASE_URL"], thumbprint[:64])
    if jwk is None:
        return api_error(404, "not_found", "This site has no signing key with this id.")
    response = jsonify(jwk)
    response.headers["Cache-Control"] = "public, max-age=86400"  # a key never changes
    return response


@bp.route("/status/<purpose>")
def status_list(purpose: str) -> ResponseReturnValue:
    """A signed Bitstring Status List credential, as the database holds it now."""
    try:
        which = StatusPurpose(purpose)
    except ValueError:
        return api_error(404, "not_found", "The status lists are /status/revocation and "
                         "/status/suspension.")
    token = credentials.status_list_token(db.session(), which, issuer(), signer(), now())
    return Response(token, mimetype="application/jwt", headers={
        "Cache-Control": f"public, max-age={credentials.STATUS_LIST_MAX_AGE}",
        "Access-Control-Allow-Origin": "*",
    })


@bp.route("/issuer")
def issuer_profile() -> ResponseReturnValue:
    """The issuer id: its OB 3.0 Profile for a machine asking for JSON, a page for a person."""
    who = issuer()
    mimetype = _wants_document()
    if mimetype:
        return _document(credentials.issuer_profile(who), mimetype)
    tracks = catalogue.items(db.session(), ContentKind.TRACK)
    return render_template("verify/issuer.html", issuer=who, tracks=tracks), {"Vary": "Accept"}


@bp.route("/tracks/<slug>")
def track(slug: str) -> ResponseReturnValue:
    """An achievement id: its OB 3.0 Achievement for a machine, the requirements for a person."""
    mimetype = _wants_document()
    if mimetype:
        document = credentials.achievement(db.session(), issuer(), slug)
        if document is None:
            return api_error(404, "not_found", "There is no track with this name.")
        return _document(document, mimetype)
    current = catalogue.item(db.session(), ContentKind.TRACK, slug)
    if current is None:
        abort(404)
    return render_template("verify/track.html", current=current,
                           spec=catalogue.track_spec(current.version),
                           titles=catalogue.titles(db.session())), {"Vary": "Accept"}
