"""The app gunicorn serves in the benchmark: `gunicorn bench.wsgi:app`.

The real app from courseware.create_app() with two overrides, plus the baseline blueprint
when COURSEWARE_BENCH=1 (bench/server.py sets it; nothing in courseware/ knows about it):

* Rate limits raised out of reach but left on: every request here comes from 127.0.0.1, and the
  deployed budget (60 verifications a minute per IP) would refuse the benchmark itself; the
  limiter still counts every request, as in production.
* FAST_PASSWORD_HASH True: the synthetic accounts use the test suite's cheap argon2
  parameters, so logging in hundreds of quiz-taking users stays quick. Login is never timed.
* SECOND_FACTOR_REQUIRED_FOR_STAFF and CALIBRATION_REQUIRED False: the synthetic admin and
  trainer reach the roster, its export, the dashboard and the grading queue at once.
"""

from __future__ import annotations

import os

from courseware.factory import create_app

# Rate limiting stays on, as deployed, with a budget no benchmark reaches: the limiter's work is
# measured, its refusals are not.
app = create_app({"VERIFY_LIMIT": "100000000 per minute", "LOGIN_LIMIT": "100000000 per minute",
                  "FAST_PASSWORD_HASH": True,
                  # the bench admin and trainer open the large-data pages straight away: no
                  # second factor to enrol first, no calibration before the grading queue
                  "SECOND_FACTOR_REQUIRED_FOR_STAFF": False, "CALIBRATION_REQUIRED": False})

if os.environ.get("COURSEWARE_BENCH") == "1":
    from bench.baseline import bp

    app.register_blueprint(bp)
