from datetime import datetime

class HueyException(Exception): ...

class RetryTask(Exception):
    def __init__(self, msg: str | None = ..., eta: datetime | None = ...,
                 delay: float | None = ...) -> None: ...
