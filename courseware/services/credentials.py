"""The Open Badges 3.0 credential of a certificate, signed with the issuer's key."""

from __future__ import annotations

from datetime import datetime

from courseware.domain.credential import (
    AchievementInfo,
    IssuerInfo,
    KeyStore,
    build_credential,
    sign_credential,
)
from courseware.models import Certificate
from courseware.services import catalogue


def signed_credential(cert: Certificate, store: KeyStore, base_url: str, issuer_name: str,
                      now: datetime) -> str:
    spec = catalogue.track_spec(cert.track_version)
    requirements = spec.requirements
    criteria = (
        f"Read {len(requirements.modules)} training modules, pass each module's quiz "
        f"({len(requirements.quizzes)} quizzes) and pass {len(requirements.roleplays)} "
        "role-plays graded by trainers against a rubric with critical safety criteria."
    )
    if cert.manual:
        criteria += " This certificate was issued in recognition of prior learning."
    credential = build_credential(
        credential_id=f"{base_url}/verify/{cert.code}",
        issuer=IssuerInfo(id=base_url, name=issuer_name, url=base_url),
        achievement=AchievementInfo(slug=cert.track.slug, title=spec.title,
                                    description=spec.description, criteria=criteria,
                                    url=f"{base_url}/tracks/{cert.track.slug}"),
        holder_name=cert.holder_name,
        valid_from=cert.issued_at,
        valid_until=cert.expires_at,
    )
    return sign_credential(credential, store, now=now)
