"""A program's watch list ("roster" in its URLs): adding codes (one, pasted, CSV upload, API)
with a per-row report, the table and its filters, CSV export, removal, the API's pages, the
holder's profile naming the programs that follow them, and a constant statement count."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update

from courseware.domain import clock, watchlist
from courseware.domain.codes import check_symbol, format_code
from courseware.domain.statuses import CertificateChange
from courseware.models import Certificate, RosterEntry, User
from tests.conftest import Auth
from tests.factories import Factory, bulk_certificates
from tests.test_roster import counted


def mistyped(code: str) -> str:
    return ("1" if code[0] != "1" else "2") + code[1:]


@pytest.fixture
def mentors(app: Flask, factory: Factory) -> dict[str, str]:
    """Four holders' codes: valid, expiring within 30 days, suspended, revoked."""
    codes = {name: factory.manual_certificate(factory.user(name=f"{name.title()} Mentor")).code
             for name in ("valid", "expiring", "suspended", "revoked")}
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        s.execute(update(Certificate).where(Certificate.code == codes["expiring"])
                  .values(expires_at=clock.utcnow() + timedelta(days=12, hours=1)))
        s.commit()
    factory.change_certificate(factory_cert(app, codes["suspended"]), CertificateChange.SUSPEND,
                               "Conduct review")
    factory.change_certificate(factory_cert(app, codes["revoked"]), CertificateChange.REVOKE,
                               "Left")
    return codes


def factory_cert(app: Flask, code: str) -> Certificate:
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        cert = s.scalar(select(Certificate).where(Certificate.code == code))
        assert cert is not None
        s.expunge(cert)
        return cert


@pytest.fixture
def staff_client(client: FlaskClient, program: User) -> FlaskClient:
    Auth(client).login(program)
    return client


def test_pasted_codes_get_a_report_line_by_line(staff_client: FlaskClient,
                                                mentors: dict[str, str]) -> None:
    unknown = "0" * 26 + check_symbol("0" * 26)  # well formed; no certificate has it
    text = "\n".join([format_code(mentors["valid"]), mistyped(mentors["expiring"]),
                      f"{mentors['suspended'].lower()}, {unknown}", "",
                      mentors["valid"]])
    response = staff_client.post("/program/watchlist", data={"codes": text})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 added · 0 already on the list · 1 repeated · 1 unknown · 1 malformed" in \
        " ".join(page.split())
    rows = report_rows(page)
    assert rows == [["1", format_code(mentors["valid"]), "Added"],
                    ["2", mistyped(mentors["expiring"]), "Malformed"],
                    ["3", format_code(mentors["suspended"]), "Added"],
                    ["3", format_code(unknown), "Unknown code"],
                    ["5", format_code(mentors["valid"]), "Repeated"]]
    again = staff_client.post("/program/watchlist", data={"codes": mentors["valid"]})
    assert report_rows(again.get_data(as_text=True)) == [
        ["1", format_code(mentors["valid"]), "Already on the list"]]


def report_rows(page: str) -> list[list[str]]:
    """(line, code, outcome) of each row of the report table."""
    import re

    section = page.split('id="report-title"', 1)[1].split("</table>", 1)[0]
    body = section.split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        rows.append(cells[:3])
    return rows


def test_a_csv_upload_gets_a_report_with_the_file_lines(staff_client: FlaskClient,
                                                        mentors: dict[str, str]) -> None:
    data = (f"holder,code\nA,{mentors['valid']}\nB,not a code\nC,{mentors['revoked']}\n"
            f"D,{mentors['valid']}\n").encode()
    response = staff_client.post("/program/watchlist", data={
        "file": (io.BytesIO(data), "mentors.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert report_rows(response.get_data(as_text=True)) == [
        ["2", format_code(mentors["valid"]), "Added"], ["3", "not a code", "Malformed"],
        ["4", format_code(mentors["revoked"]), "Added"],
        ["5", format_code(mentors["valid"]), "Repeated"]]


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Paste at least one code"),
    ({"file": (io.BytesIO(b"\xff\xfe"), "x.csv")}, "not UTF-8"),
    ({"file": (io.BytesIO(b"x" * (300 * 1024)), "big.csv")}, "larger than 256 KiB"),
    ({"file": (io.BytesIO(b"code\n"), "empty.csv")}, "holds no codes"),
    ({"codes": "ABC", "file": (io.BytesIO(b"code\n"), "x.csv")}, "not both"),
])
def test_a_bad_addition_says_why(staff_client: FlaskClient, data: dict[str, object],
                                 message: str) -> None:
    response = staff_client.post("/program/watchlist", data=data,
                                 content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_the_table_filters_exports_and_removes(app: Flask, staff_client: FlaskClient,
                                               mentors: dict[str, str]) -> None:
    staff_client.post("/program/watchlist", data={"codes": "\n".join(mentors.values())})
    page = staff_client.get("/program/").get_data(as_text=True)
    assert "4 on the list · 2 eligible · 1 expiring within 30 days · 2 not eligible" in \
        " ".join(page.split())
    assert "Expiring Mentor" in page and ">12<" in page  # days left

    def names(path: str) -> set[str]:
        text = staff_client.get(path).get_data(as_text=True)
        return {n for n in ("Valid", "Expiring", "Suspended", "Revoked")
                if f"{n} Mentor" in text.split('id="list-title"')[1]}

    assert names("/program/?status=eligible") == {"Valid", "Expiring"}
    assert names("/program/?status=expiring") == {"Expiring"}
    assert names("/program/?status=not_eligible") == {"Suspended", "Revoked"}
    assert names("/program/?status=nonsense") == {"Valid", "Expiring", "Suspended", "Revoked"}

    exported = staff_client.get("/program/watchlist.csv?status=not_eligible")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0] == ["code", "holder", "track", "status", "eligible", "expires", "days_left",
                       "added"]
    assert sorted((r[1], r[3], r[4]) for r in rows[1:]) == [
        ("Revoked Mentor", "revoked", "no"), ("Suspended Mentor", "suspended", "no")]

    removed = staff_client.post(f"/program/watchlist/{format_code(mentors['revoked'])}/remove")
    assert removed.status_code == 302
    assert "Revoked Mentor" not in staff_client.get("/program/").get_data(as_text=True)
    assert staff_client.post(f"/program/watchlist/{mentors['revoked']}/remove").status_code == 404


def test_the_api_adds_pages_and_removes(app: Flask, factory: Factory,
                                        mentors: dict[str, str]) -> None:
    program = factory.program()
    _key, key = factory.api_key(program, "roster")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    codes = [format_code(mentors["valid"]), mentors["expiring"].lower(), "nope", 5,
             mentors["valid"], mentors["suspended"], mentors["revoked"]]
    added = client.post("/api/v1/roster", json={"codes": codes}, headers=auth)
    assert added.status_code == 200
    body = added.get_json()
    assert [r["outcome"] for r in body["results"]] == [
        "added", "added", "malformed", "malformed", "duplicate", "added", "added"]
    assert body["results"][3]["input"] is None and body["results"][0]["code"] == mentors["valid"]
    assert body["counts"] == {"added": 4, "already": 0, "duplicate": 1, "not_found": 0,
                              "malformed": 2}
    first = client.get("/api/v1/roster?limit=3", headers=auth).get_json()
    assert [i["holder"]["name"] for i in first["items"]] == [
        "Valid Mentor", "Expiring Mentor", "Suspended Mentor"]
    assert first["counts"] == {"all": 4, "eligible": 2, "expiring": 1, "not_eligible": 2}
    assert first["items"][1]["days_left"] == 12 and first["items"][1]["eligible"] is True
    assert first["items"][2]["status"] == "suspended" and first["items"][2]["eligible"] is False
    second = client.get(f"/api/v1/roster?limit=3&cursor={first['next_cursor']}",
                        headers=auth).get_json()
    assert [i["code"] for i in second["items"]] == [mentors["revoked"]]
    assert second["next_cursor"] is None
    expiring = client.get("/api/v1/roster?status=expiring", headers=auth).get_json()
    assert [i["code"] for i in expiring["items"]] == [mentors["expiring"]]
    for query, code in (("status=soon", "invalid_request"), ("limit=0", "invalid_request"),
                        ("limit=201", "invalid_request"), ("cursor=zzz", "invalid_cursor")):
        refused = client.get(f"/api/v1/roster?{query}", headers=auth)
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == code
    assert client.delete(f"/api/v1/roster/{format_code(mentors['valid'])}",
                         headers=auth).status_code == 204
    gone = client.delete(f"/api/v1/roster/{mentors['valid']}", headers=auth)
    assert gone.status_code == 404 and gone.get_json()["error"]["code"] == "not_found"
    assert client.delete("/api/v1/roster/nope", headers=auth).status_code == 400
    for body_ in ({"codes": []}, {"codes": "x"}, {"codes": ["x"], "more": 1}, [],
                  {"codes": ["x"] * 1001}):
        assert client.post("/api/v1/roster", json=body_, headers=auth).status_code == 400


def test_a_thousand_hyphenated_codes_fit_in_one_call(app: Flask, factory: Factory) -> None:
    bulk_certificates(app, 1000)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        codes = [format_code(c) for c in s.scalars(select(Certificate.code))]
    _key, key = factory.api_key(factory.program(), "roster")
    response = app.test_client().post("/api/v1/roster", json={"codes": codes[:1000]},
                                      headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.get_json()["counts"]["added"] == 1000


def test_the_holder_sees_which_programs_follow_their_certificate(
        app: Flask, factory: Factory) -> None:
    holder = factory.user(name="Followed Holder")
    code = factory.manual_certificate(holder).code
    for name in ("Northside Mentoring", "Eastgate Youth"):
        program = factory.program(name)
        factory.follow(program, factory.program_staff(program), code)
    factory.program("Not Following")
    client = app.test_client()
    Auth(client).login(holder)
    page = client.get("/profile").get_data(as_text=True)
    assert f"{format_code(code)}: Eastgate Youth, Northside Mentoring" in page
    assert "Not Following" not in page


def statements_for(app: Flask, client: FlaskClient, path: str,
                   headers: dict[str, str] | None = None) -> int:
    client.get(path, headers=headers)  # warm per-process caches (content versions) first
    with counted(app) as statements:
        response = client.get(path, headers=headers)
        response.get_data()
    assert response.status_code == 200
    return len(statements)


def test_pages_cost_the_same_with_10_or_1000_entries(app: Flask, factory: Factory,
                                                     program: User) -> None:
    client = app.test_client()
    Auth(client).login(program)
    _key, key = factory.api_key(factory.program_of(program), "roster")
    auth = {"Authorization": f"Bearer {key}"}

    def follow_all() -> None:
        with app.app_context(), app.extensions["courseware.db"].session() as s:
            following = select(RosterEntry.certificate_id).where(
                RosterEntry.program_id == program.program_id)
            ids = s.scalars(select(Certificate.id).where(Certificate.id.not_in(following)))
            s.execute(insert(RosterEntry), [
                {"program_id": program.program_id, "certificate_id": i,
                 "added_at": clock.utcnow()} for i in ids])
            s.commit()

    paths = ("/program/", "/program/?status=expiring", "/program/?status=not_eligible",
             "/program/watchlist.csv", "/api/v1/roster", "/api/v1/roster?status=eligible")
    bulk_certificates(app, 10)
    follow_all()
    small = {p: statements_for(app, client, p, auth if p.startswith("/api") else None)
             for p in paths}
    bulk_certificates(app, 990, start=10)
    follow_all()
    large = {p: statements_for(app, client, p, auth if p.startswith("/api") else None)
             for p in paths}
    assert large == small
    assert len(client.get("/program/watchlist.csv").get_data(as_text=True).splitlines()) == 1001
    assert watchlist.EXPIRING_DAYS == 30
