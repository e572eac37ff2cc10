"""``GET /api/v1/statistics/8a/?year=2026`` (issue 13 §3; docs/statistik-8a.md): for an office lead the
year's records of their office (``office`` to choose among several), the validation report and the
summary; for the district coordinator only the district's summary with cells below 3 suppressed.
Everyone else: 403."""

from dataclasses import asdict

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.actor import actor_of
from core.serializers import ErrorSerializer

from ..statistics import district_statistics, statistics_8a, summary
from ..statistics_views import FIRST_YEAR, statistics_office, statistics_year

EXAMPLE = {
    "year": 2026,
    "office": 21,
    "complete": False,
    "problems": [
        {
            "referral": 42,
            "reference": "KPB-ME-2026-00042",
            "child": 1,
            "messages": ["Say where the child lived when the referral came."],
            "link": "/referrals/42/#assessment-title",
        }
    ],
    "records": [
        {
            "jahr_ende": "2026", "monat_ende": "3", "geschlecht": "2", "geburtsmonat": "4", "geburtsjahr": "2019",
            "aufenthalt": "1", "alter_mutter": "3", "alter_vater": "9", "herkunft_ausland": "2", "deutsch": "1",
            "quelle": "1", "wiederholt": "0", "hilfe_vorher": "none", "ergebnis": "2", "vernachlaessigung": "1",
            "koerperlich": "0", "psychisch": "0", "sexuell": "0", "gefahr_von": "father", "hilfe_neu": "s31",
        }
    ],
    "summary": {"age_groups": ["0-2", "3-5", "6-9", "10-13", "14-17", "18+", "?"], "rows": [], "suppressed": False},
}  # fmt: skip


class Statistics8aView(APIView):
    @extend_schema(
        summary="The § 8a statistic of a year (office lead: records and validation; district coordinator: summary)",
        description="One record per child per risk assessment signed off in the year, codes as in "
        "docs/statistik-8a.md; `complete` is false while any record is incomplete or contradictory (`problems`, "
        "each with a link to fix it). The district coordinator gets only `summary` over the district, cells "
        "below 3 as null.",
        parameters=[
            OpenApiParameter("year", OpenApiTypes.INT, description=f"{FIRST_YEAR} to the current year; default now."),
            OpenApiParameter("office", OpenApiTypes.INT, description="For a lead of several offices: which one."),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, examples=[OpenApiExample("Office lead", value=EXAMPLE)]),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Not a plausible year."),
            403: OpenApiResponse(ErrorSerializer, description="Neither an office lead nor a district coordinator."),
        },
    )
    def get(self, request):
        actor = actor_of(request.user)
        leads, districts = sorted(actor.lead_office_ids), sorted(actor.coordinator_district_ids)
        if not leads and not districts:
            raise PermissionDenied(_("Only office leads and the district coordinator read the § 8a statistic."))
        year = statistics_year(request.query_params.get("year"))
        if year is None:
            raise ValidationError(
                {
                    "year": [
                        _("Enter a year between %(first)s and %(last)s.")
                        % {"first": FIRST_YEAR, "last": timezone.localdate().year}
                    ]
                }
            )
        if not leads:
            return Response({"year": year, "summary": district_statistics(district_ids=districts, year=year)})
        office_id = statistics_office(request.user, request.query_params.get("office"))
        if office_id is None:
            raise ValidationError({"office": [_("Choose an office you lead.")]})
        records, problems = statistics_8a(office_id=office_id, year=year)
        return Response(
            {
                "year": year,
                "office": office_id,
                "complete": not problems,
                "problems": [
                    {
                        "referral": p.referral_id,
                        "reference": p.reference,
                        "child": p.child_number,
                        "messages": p.messages,
                        "link": p.link,
                    }
                    for p in problems
                ],
                "records": [asdict(r) for r in records],
                "summary": summary(records),
            }
        )
