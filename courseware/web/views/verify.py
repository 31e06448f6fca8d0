"""Public pages for programs: verify a code, download a certificate, the issuer's keys."""

from __future__ import annotations

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
from courseware.domain.credential import KeyStore
from courseware.domain.statuses import CertificateStatus, ContentKind
from courseware.services import catalogue, certificates, credentials
from courseware.web import db
from courseware.web.forms import VerifyForm
from courseware.web.views.common import certificate_or_404, issue_context, now

bp = Blueprint("verify", __name__)


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
        return render_template("verify/form.html", form=verify_form), 400
    return render_template("verify/form.html", form=verify_form)


@bp.route("/verify/<path:code>")
def result(code: str) -> ResponseReturnValue:
    try:
        canonical = parse_code(code)
    except MalformedCode as exc:
        return render_template("verify/result.html", problem=str(exc), code=code[:60],
                               form=VerifyForm(data={"code": code[:100]})), 400
    cert = certificates.find(db.session(), canonical)
    if cert is None:
        return render_template(
            "verify/result.html", code=format_code(canonical), form=VerifyForm(),
            problem="No certificate has this code. Check it against the certificate, or ask "
                    "the holder for a new copy."), 404
    record = certificates.public_record(cert, now(), current_app.config["BASE_URL"])
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


@bp.route("/certificates/<code>/credential.jwt")
def credential(code: str) -> ResponseReturnValue:
    cert = certificate_or_404(code)
    status = certificates.cert_status(cert, now())
    if status in (CertificateStatus.REVOKED, CertificateStatus.SUSPENDED):
        return render_template(
            "error.html", status=410, title="No credential",
            message=f"This certificate is {status}, so no signed credential is issued for it. "
                    "Its verification page says more."), 410
    token = credentials.signed_credential(cert, _keystore(), current_app.config["BASE_URL"],
                                          current_app.config["ISSUER_NAME"], now())
    return Response(token, mimetype="application/jwt", headers={
        "Content-Disposition": f'attachment; filename="credential-{cert.code}.jwt"',
        "Cache-Control": "no-store",
    })


def _keystore() -> KeyStore:
    return KeyStore(current_app.config["KEYS_DIR"])


@bp.route("/.well-known/jwks.json")
def jwks() -> ResponseReturnValue:
    store = _keystore()
    store.active()  # publish a key even before the first credential is signed
    response = jsonify(store.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/tracks/<slug>")
def track(slug: str) -> ResponseReturnValue:
    current = catalogue.item(db.session(), ContentKind.TRACK, slug)
    if current is None:
        abort(404)
    return render_template("verify/track.html", current=current,
                           spec=catalogue.track_spec(current.version),
                           titles=catalogue.titles(db.session()))
