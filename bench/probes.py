"""Measurements that need a fresh process: `python -m bench.probes pdf|sync [URL]`.

pdf:  import WeasyPrint (timed alone), then the first render in this process (cold), then
      warm renders; peak RSS (ru_maxrss) after each stage and the Python-heap peak of one warm
      render (tracemalloc, measured after the timings so it does not slow them).
sync: on an empty, migrated database, the content service in-process (load_catalogue +
      sync_catalogue + commit, as `courseware sync` runs them), first and then unchanged.
Prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pdf(warm_runs: int = 5) -> dict[str, Any]:
    from courseware.domain.codes import format_code, generate_code
    from courseware.domain.content import load_catalogue
    from courseware.domain.pdf import CertificatePrint, render_certificate_pdf
    from courseware.infra.config import PROJECT_ROOT

    track = next(iter(load_catalogue(PROJECT_ROOT).tracks.values()))
    directory = PROJECT_ROOT / "certificates"
    rss_before = _rss_mb()
    t = time.perf_counter()
    import weasyprint  # noqa: F401 - the lazy import render_certificate_pdf does, timed alone

    import_s = time.perf_counter() - t
    rss_import = _rss_mb()

    def one(n: int) -> bytes:
        code = generate_code()
        issued = datetime.now(UTC).date() - timedelta(days=n)
        return render_certificate_pdf(CertificatePrint(
            holder_name=f"Holder Number {n}", track_title=track.title, issued_on=issued,
            expires_on=date(issued.year + 2, issued.month, min(issued.day, 28)),
            code_display=format_code(code), verify_url=f"http://127.0.0.1:5000/verify/{code}",
            issuer_name="Courseware Peer Mentor Program"), directory)

    t = time.perf_counter()
    first = one(0)
    first_s = time.perf_counter() - t
    rss_first = _rss_mb()
    warm = []
    for n in range(1, warm_runs + 1):
        t = time.perf_counter()
        one(n)
        warm.append(time.perf_counter() - t)
    rss_warm = _rss_mb()
    import tracemalloc

    tracemalloc.start()
    one(99)
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "import_s": import_s, "first_render_s": first_s, "cold_total_s": import_s + first_s,
        "warm_render_s": statistics.median(warm), "warm_max_s": max(warm), "warm_runs": warm,
        "pdf_bytes": len(first), "rss_before_import_mb": rss_before,
        "rss_after_import_mb": rss_import, "rss_after_first_mb": rss_first,
        "peak_rss_mb": rss_warm, "render_heap_peak_mb": heap_peak,
    }


def sync(url: str) -> dict[str, Any]:
    from courseware.domain.content import load_catalogue
    from courseware.infra.config import PROJECT_ROOT
    from courseware.infra.db import Database
    from courseware.infra.migrate import upgrade
    from courseware.services.audit import COMMAND_LINE
    from courseware.services.content_sync import sync_catalogue

    database = Database(url)
    upgrade(database.engine)
    out: dict[str, Any] = {}
    for run in ("first", "unchanged"):
        t = time.perf_counter()
        catalogue = load_catalogue(PROJECT_ROOT)
        loaded = time.perf_counter()
        with database.session() as s:
            report = sync_catalogue(s, catalogue, actor=COMMAND_LINE)
            s.commit()
        done = time.perf_counter()
        out[run] = {"total_s": done - t, "load_s": loaded - t, "db_s": done - loaded,
                    "summary": report.summary()}
    database.engine.dispose()
    return out


def main() -> int:
    kind = sys.argv[1]
    result = pdf() if kind == "pdf" else sync(sys.argv[2])
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
