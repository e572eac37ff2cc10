"""Benchmarks: figures, with a baseline measured in the same run (ratios, not absolute thresholds).

    make bench                      # SQLite, 20,000 referrals
    BENCH_N=200000 DATABASE_URL=postgres://postgres@127.0.0.1/postgres make bench

It creates its own throw-away test database (test_<name>), fills it, measures and drops it.

1. Inbox page: keyset pagination vs the OFFSET baseline, on page 1 and a deep page.
2. Scoping: ``Referral.objects.visible_to`` (office foreign key + grant subquery) vs the same
   visible set held as one guardian grant per referral (``get_objects_for_user``).
"""

import os
import random
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from guardian.shortcuts import get_objects_for_user  # noqa: E402

N = int(os.environ.get("BENCH_N", "20000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
PAGE = 25


def timed(fn, repeat=REPEAT):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def fill():
    from agencies.models import Agency, AgencyKind, Membership, Role
    from agencies.services import district_seed
    from referrals.models import URGENCY_RANK, Referral, ReferralUserObjectPermission, Status

    district_seed(slug="mettmann")
    User = get_user_model()
    officer = User.objects.create_user("bench_police")
    station = Agency.objects.get(code="PW-HIL")
    Membership.objects.create(user=officer, agency=station, role=Role.POLICE_OFFICER)
    caseworker = User.objects.create_user("bench_caseworker")
    hilden = Agency.objects.get(code="JA-HIL")
    Membership.objects.create(user=caseworker, agency=hilden, role=Role.CASEWORKER)
    offices = list(Agency.objects.filter(kind=AgencyKind.YOUTH_OFFICE))
    rng = random.Random(42)
    now = timezone.now()
    batch = []
    for i in range(N):
        urgency = rng.choice(["immediate", "urgent", "routine", "routine"])
        batch.append(
            Referral(
                reference=f"BENCH-{i:07d}", status=Status.SUBMITTED, police_authority=station.parent, station=station,
                created_by=officer, urgency=urgency, urgency_rank=URGENCY_RANK[urgency],
                youth_office=rng.choice(offices),
                submitted_at=now - timezone.timedelta(minutes=rng.randint(0, 5_000_000)),
            )
        )  # fmt: skip
        if len(batch) == 5000:
            Referral.objects.bulk_create(batch)
            batch = []
    Referral.objects.bulk_create(batch)
    # Individual grants: the caseworker may see 200 referrals of other offices.
    view = Permission.objects.get(codename="view_referral")
    others = Referral.objects.exclude(youth_office=hilden).values_list("pk", flat=True)[:200]
    ReferralUserObjectPermission.objects.bulk_create(
        [ReferralUserObjectPermission(user=caseworker, permission=view, content_object_id=pk) for pk in others]
    )
    # Baseline person: the same visible set, but every case as an individual guardian grant (what a
    # design without the office foreign key would need).
    granted = User.objects.create_user("bench_guardian")
    visible = Referral.objects.visible_to(caseworker).values_list("pk", flat=True)
    ReferralUserObjectPermission.objects.bulk_create(
        [ReferralUserObjectPermission(user=granted, permission=view, content_object_id=pk) for pk in visible],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as autovacuum would have them in production
    return caseworker, granted


def main():
    from core.pagination import keyset_page
    from referrals.models import Referral
    from referrals.selectors import INBOX_ORDERING, inbox_for

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        t0 = time.perf_counter()
        caseworker, granted = fill()
        print(f"database: {connection.vendor}, referrals: {N:,}, filled in {time.perf_counter() - t0:.1f} s")
        inbox = inbox_for(caseworker)
        total = inbox.count()
        deep = max(total // PAGE - 1, 1)
        # Walk to the deep page once to get its cursor (keyset), then time one page fetch each way.
        cursor = None
        for _ in range(deep):
            cursor = keyset_page(inbox, ordering=INBOX_ORDERING, cursor=cursor, size=PAGE).next_cursor

        def keyset_first():
            keyset_page(inbox_for(caseworker), ordering=INBOX_ORDERING, cursor=None, size=PAGE)

        def keyset_deep():
            keyset_page(inbox_for(caseworker), ordering=INBOX_ORDERING, cursor=cursor, size=PAGE)

        def offset_first():
            list(inbox_for(caseworker).order_by(*INBOX_ORDERING)[:PAGE])

        def offset_deep():
            list(inbox_for(caseworker).order_by(*INBOX_ORDERING)[deep * PAGE : deep * PAGE + PAGE])

        print(f"\n1. Inbox of one office ({total:,} referrals), {PAGE} per page, page {deep + 1} as the deep page")
        print(f"{'':28}{'median ms':>10}{'p95 ms':>10}")
        rows = {}
        cases = (
            ("keyset, page 1", keyset_first),
            ("OFFSET, page 1 (baseline)", offset_first),
            ("keyset, deep page", keyset_deep),
            ("OFFSET, deep page (baseline)", offset_deep),
        )
        for label, fn in cases:
            rows[label] = timed(fn)
            print(f"{label:28}{rows[label][0]:10.2f}{rows[label][1]:10.2f}")
        ratio = rows["OFFSET, deep page (baseline)"][0] / rows["keyset, deep page"][0]
        print(f"deep page: OFFSET / keyset = {ratio:.1f}x")

        def guardian_qs():
            return get_objects_for_user(granted, "referrals.view_referral", klass=Referral, accept_global_perms=False)

        def scoped_count():
            return Referral.objects.visible_to(caseworker).count()

        def guardian_count():
            return guardian_qs().count()

        def scoped_page():
            return list(Referral.objects.visible_to(caseworker).order_by(*INBOX_ORDERING)[:PAGE])

        def guardian_page():
            return list(guardian_qs().order_by(*INBOX_ORDERING)[:PAGE])

        assert scoped_count() == guardian_count()
        print(f"\n2. Scoping: the same {scoped_count():,} visible referrals, as office FK + 200 grants (visible_to)")
        print("   and as one guardian grant per referral (baseline, get_objects_for_user)")
        print(f"{'':36}{'median ms':>10}{'p95 ms':>10}")
        results = {}
        for label, fn in (
            ("visible_to: count", scoped_count),
            ("guardian baseline: count", guardian_count),
            ("visible_to: first page", scoped_page),
            ("guardian baseline: first page", guardian_page),
        ):
            results[label] = timed(fn)
            print(f"{label:36}{results[label][0]:10.2f}{results[label][1]:10.2f}")
        for what in ("count", "first page"):
            ratio = results[f"guardian baseline: {what}"][0] / results[f"visible_to: {what}"][0]
            print(f"{what}: guardian baseline / visible_to = {ratio:.1f}x")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
