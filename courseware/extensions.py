"""Flask extensions, created once and bound in create_app."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
# limits are declared per route; storage comes from RATELIMIT_STORAGE_URI
limiter = Limiter(key_func=get_remote_address, default_limits=[])
