# zxcvbn (4.5) ships no types; the one function courseware.domain.passwords calls.
from typing import Any

def zxcvbn(password: str, user_inputs: list[str] | None = ...,
           max_length: int = ...) -> dict[str, Any]: ...
