"""The annual cooperation report for integrators (issue 15 § 2): ``GET /api/v1/reports/cooperation/?year=``
— the same document as the page and the CSV (``meetings.selectors.annual_report`` and the referral
figures, ``referral_figures``), for the district coordinator (token or session). A year outside the
agreement's years answers 400; a year without any data answers 200 with ``has_data: false`` and a
message, never the figures of another year."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.actor import actor_of
from agencies.models import District
from core.text import is_number

from .. import selectors
from ..forms import year_choices


class CooperationPairSerializer(serializers.Serializer):
    pair = serializers.CharField()
    meetings_held = serializers.IntegerField()
    attendance = serializers.FloatField()
    hospitations_done = serializers.IntegerField()
    events = serializers.IntegerField()
    participants = serializers.IntegerField()
    is_total = serializers.BooleanField()


class CooperationReferralFiguresSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text='Per police station and youth office over the year; a count below 3 is the string "< 3".',
    )


class CooperationReportSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    district = serializers.CharField()
    has_data = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True, help_text="Says so when the year holds no data at all.")
    cooperation = CooperationPairSerializer(many=True)
    referrals = CooperationReferralFiguresSerializer()


class CooperationReportView(APIView):
    @extend_schema(
        operation_id="cooperation_report",
        parameters=[OpenApiParameter("year", OpenApiTypes.INT, description="Default: the current year.")],
        responses={
            200: CooperationReportSerializer,
            400: OpenApiResponse(description="A year outside the agreement's years (2023 up to now)."),
            403: OpenApiResponse(description="Not a district coordinator."),
        },
    )
    def get(self, request):
        districts = sorted(actor_of(request.user).coordinator_district_ids)
        if not districts:
            raise PermissionDenied(_("Only the district coordinator sees the cooperation report."))
        raw = request.query_params.get("year") or str(timezone.localdate().year)
        if not is_number(raw) or int(raw) not in year_choices():
            raise ValidationError({"year": [_("Choose a year from %(first)s to %(last)s.") % _bounds()]})
        year = int(raw)
        district = District.objects.get(pk=districts[0])
        rows = selectors.annual_report(district=district, year=year)
        figures = selectors.referral_figures(district=district, year=year)
        has_data = selectors.report_has_data(rows, figures)
        message = (
            ""
            if has_data
            else _("No meetings, hospitations, events or referrals recorded in %(year)s.") % {"year": year}
        )
        return Response(
            {
                "year": year,
                "district": district.name,
                "has_data": has_data,
                "message": message,
                "cooperation": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
                "referrals": {
                    "columns": list(figures["columns"]) if figures else [],
                    "rows": figures["api_rows"] if figures else [],
                },
            }
        )


def _bounds() -> dict:
    years = year_choices()
    return {"first": years[-1], "last": years[0]}
