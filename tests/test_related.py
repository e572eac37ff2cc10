"""``core.related.attach_related``: a page's related names read after the page, one query per related model."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.models import Agency
from core.related import PERSON_NAME_FIELDS, attach_related
from referrals.models import Referral
from tests.factories import make_referral


@pytest.fixture
def rows(personas):
    first = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    second = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    Referral.objects.filter(pk=first.pk).update(assignee=personas.caseworker_hilden)
    return list(Referral.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk"))


def test_agencies_and_people_take_one_query_each_and_no_more_when_read(rows, personas):
    with CaptureQueriesContext(connection) as captured:
        attach_related(rows, ("youth_office", "station", "assignee", "forwarded_to"))
    tables = sorted(q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in captured.captured_queries)
    assert tables == ["agencies_agency", "auth_user"]  # three agency keys share one query
    with CaptureQueriesContext(connection) as captured:
        names = [(r.youth_office.code, r.station.code, r.assignee, r.forwarded_to) for r in rows]
    assert not captured.captured_queries
    assert names == [
        ("JA-HIL", "PW-HIL", personas.caseworker_hilden, None),
        ("JA-VEL", "PW-VEL", None, None),
    ]


def test_only_reads_the_named_columns_and_an_empty_page_reads_nothing(rows):
    attach_related(rows, ("assignee",), only={get_user_model(): PERSON_NAME_FIELDS})
    assert rows[0].assignee.get_deferred_fields() >= {"password", "email"}
    with CaptureQueriesContext(connection) as captured:
        attach_related([], ("assignee",))
    assert not captured.captured_queries


def test_a_key_already_loaded_is_kept(rows):
    loaded = Referral.objects.select_related("youth_office").get(pk=rows[0].pk)
    office = loaded.youth_office
    with CaptureQueriesContext(connection) as captured:
        attach_related([loaded], ("youth_office",))
    assert not captured.captured_queries
    assert loaded.youth_office is office


def test_only_foreign_keys_are_accepted(rows):
    with pytest.raises(AssertionError):
        attach_related(rows, ("reference",))
    assert Agency.objects.exists()
