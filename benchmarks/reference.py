"""The reference run (issues 12 and 15): the main pages and the dashboards on ONE database, at two sizes.

    BENCH_N=1000000 BENCH_SMALL=20000 BENCH_GROW=copy DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        DEBUG=true .venv/bin/python -m benchmarks.reference

``benchmarks.pages`` and ``benchmarks.dashboards`` each fill a database of their own; at 1,000,000 referrals the
fill is most of the run, so this module fills once (``benchmarks.pages.grow``), measures both sets of pages at
the small size and at ``BENCH_N``, and prints both tables as the two modules do (their docstrings say what
each column means).
"""

import random

from django.db import connection
from django.test.utils import setup_test_environment

from benchmarks import dashboards, pages  # pages sets Django up


def run(*, with_pages: bool = True, with_dashboards: bool = True, seed: int = 12) -> None:
    """Create the throw-away database, fill it to each size, measure the chosen pages at each, print."""
    assert connection.vendor == "postgresql", "the page benchmarks measure PostgreSQL's plans: set DATABASE_URL"
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        rng = random.Random(seed)
        caseworker, officer = pages.people()
        lead, coordinator = dashboards.lead_and_coordinator()
        sizes, page_runs, dashboard_runs, done = pages.sizes_of_run(), [], [], 0
        for size in sizes:
            pages.grow(done, size, officer, caseworker, rng)
            done = size
            if with_pages:
                page_runs.append(pages.measure(caseworker, officer))
            if with_dashboards:
                dashboard_runs.append(dashboards.measure(lead, coordinator))
        if with_pages:
            pages.report(sizes, page_runs)
        if with_dashboards:
            dashboards.report(sizes, dashboard_runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main():
    run()


if __name__ == "__main__":
    main()
