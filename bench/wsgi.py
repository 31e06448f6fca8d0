"""The app gunicorn serves in the benchmark: `gunicorn bench.wsgi:app`.

The real app from courseware.create_app() with two overrides, plus the baseline blueprint
when COURSEWARE_BENCH=1 (bench/server.py sets it; nothing in courseware/ knows about it):

* RATELIMIT_ENABLED False: the verify endpoints allow 60 requests a minute per IP and every
  request here comes from 127.0.0.1; rate limiting is off for the whole benchmark.
* FAST_PASSWORD_HASH True: the synthetic accounts use the test suite's cheap argon2
  parameters, so logging in hundreds of quiz-taking users stays quick. Login is never timed.
"""

from __future__ import annotations

import os

from courseware.factory import create_app

app = create_app({"RATELIMIT_ENABLED": False, "FAST_PASSWORD_HASH": True})

if os.environ.get("COURSEWARE_BENCH") == "1":
    from bench.baseline import bp

    app.register_blueprint(bp)
