from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from flask import Flask

class _UserLike(Protocol):
    @property
    def is_authenticated(self) -> bool: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def is_anonymous(self) -> bool: ...
    def get_id(self) -> str: ...

_U = TypeVar("_U", bound=Callable[[str], Any])

class LoginManager:
    login_view: str | None
    login_message: str
    login_message_category: str
    session_protection: str | None
    def __init__(self, app: Flask | None = ..., add_context_processor: bool = ...) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = ...) -> None: ...
    def user_loader(self, callback: _U) -> _U: ...

class _CurrentUser:
    # A LocalProxy: either the logged-in account or the anonymous user. Read it through
    # courseware.web.views.common.me() / is_logged_in() rather than attribute by attribute.
    is_authenticated: bool
    is_active: bool
    is_anonymous: bool
    def _get_current_object(self) -> Any: ...
    def __getattr__(self, name: str) -> Any: ...

current_user: _CurrentUser

def login_user(
    user: _UserLike, remember: bool = ..., duration: Any = ..., force: bool = ..., fresh: bool = ...
) -> bool: ...
def logout_user() -> bool: ...
