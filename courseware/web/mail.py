"""flask-mailman as the app's `MailSender`: SMTP in production, the console for `make run`."""

from __future__ import annotations

from flask import Flask
from flask_mailman import EmailMultiAlternatives, Mail

from courseware.infra.mail import OutgoingMail

mail = Mail()


class FlaskMailSender:
    """Sends with the app's MAIL_* settings (MAIL_TIMEOUT bounds a stalled server), one message
    per connection: a job sends one message. Runs in an app context of its own (jobs have no
    request)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def send(self, outgoing: OutgoingMail) -> None:
        with self.app.app_context(), mail.get_connection() as connection:
            # opened here, so it is closed here too when the server refuses the message
            message = EmailMultiAlternatives(
                subject=outgoing.subject, body=outgoing.text, to=[outgoing.to],
                headers={"Message-ID": outgoing.message_id, **outgoing.headers},
                connection=connection,
            )
            message.attach_alternative(outgoing.html, "text/html")
            message.send()


def init_app(app: Flask) -> FlaskMailSender:
    mail.init_app(app)
    return FlaskMailSender(app)
