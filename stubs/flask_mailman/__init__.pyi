# The part of flask-mailman 1.1 that courseware uses (it ships no type information).
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask

class BaseEmailBackend:
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int: ...

class EmailMessage:
    def __init__(self, subject: str = ..., body: str = ..., from_email: str | None = ...,
                 to: Sequence[str] | None = ..., bcc: Sequence[str] | None = ...,
                 connection: BaseEmailBackend | None = ..., attachments: Any = ...,
                 headers: Mapping[str, str] | None = ..., cc: Sequence[str] | None = ...,
                 reply_to: Sequence[str] | None = ...) -> None: ...
    def send(self, fail_silently: bool = ...) -> int: ...

class EmailMultiAlternatives(EmailMessage):
    def attach_alternative(self, content: str, mimetype: str) -> None: ...

class Mail:
    def __init__(self, app: Flask | None = ...) -> None: ...
    def init_app(self, app: Flask) -> Any: ...
    def get_connection(self, backend: str | None = ..., fail_silently: bool = ...,
                       **kwds: Any) -> BaseEmailBackend: ...
