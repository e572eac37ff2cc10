"""The dashboards' figures as JSON (issue 15 §§ 1, 2): ``GET /api/v1/dashboard/office/?from=&to=`` for
the caller's youth office (a lead: the whole office; a caseworker: their own cases) and
``GET /api/v1/dashboard/district/?from=&to=`` for the district coordinator and the police
coordinator (counts only; a count below 3 is the string "< 3"). The same figures as the pages
(``referrals.dashboard``); a bad period answers 400 with a message per parameter."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import DateField

from .. import dashboard
from .serializers import ErrorSerializer

PERIOD_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD, or a month YYYY-MM)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, included (at most 36 months after from)."),
]


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "enum": ["< 3"]}], "nullable": True})
class SuppressedField(serializers.Field):
    """A count or figure of the district dashboard: the number, "< 3" when suppressed, null for none."""

    def to_representation(self, value):
        return dashboard.api_cell(value)


class PeriodSerializer(serializers.Serializer):
    # "from" is a Python keyword: the field is declared under that name below.
    to = DateField()


PeriodSerializer._declared_fields["from"] = DateField()


class OpenByStatusSerializer(serializers.Serializer):
    status = serializers.CharField()
    by_urgency = serializers.DictField(child=serializers.IntegerField())


class CaseloadSerializer(serializers.Serializer):
    person_id = serializers.IntegerField(allow_null=True, help_text="null: not assigned to anyone")
    name = serializers.CharField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    signoff_requests = serializers.IntegerField(help_text="Of the open cases, those with an open sign-off request.")


class WorkloadSerializer(serializers.Serializer):
    open_by_status = OpenByStatusSerializer(many=True)
    open_total = serializers.IntegerField()
    caseload = CaseloadSerializer(many=True)
    waiting_signoff = serializers.IntegerField(help_text="Open cases with a risk assessment not yet signed off.")
    signoff_requests = serializers.IntegerField(
        help_text="Open cases with an open sign-off request: the author asked a colleague to sign off."
    )
    handover_in = serializers.IntegerField(help_text="Hand-overs offered to the office, not yet accepted.")
    handover_out = serializers.IntegerField(help_text="Hand-overs to other offices, not yet accepted.")
    overdue = serializers.IntegerField()


class ClockRowSerializer(serializers.Serializer):
    month = serializers.CharField()
    urgency = serializers.CharField()
    received = serializers.IntegerField()
    in_time = serializers.IntegerField()
    late = serializers.IntegerField()
    running = serializers.IntegerField()
    share_in_time = serializers.FloatField(allow_null=True)
    median_minutes = serializers.FloatField(allow_null=True)
    p90_minutes = serializers.FloatField(allow_null=True)
    repeat = serializers.IntegerField()
    repeat_share = serializers.FloatField(allow_null=True)


class AssessmentMonthSerializer(serializers.Serializer):
    month = serializers.CharField()
    signed_off = serializers.IntegerField()
    median_days = serializers.FloatField(allow_null=True)
    p90_days = serializers.FloatField(allow_null=True)


class OutcomeSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    count = serializers.IntegerField()


class ScreeningMonthSerializer(serializers.Serializer):
    month = serializers.CharField()
    screened = serializers.IntegerField()
    no = serializers.IntegerField(help_text="Screenings without weighty indications, signed off (the case closed).")
    median_days = serializers.FloatField(allow_null=True)
    p90_days = serializers.FloatField(allow_null=True)


class AssessmentFiguresSerializer(serializers.Serializer):
    months = AssessmentMonthSerializer(many=True)
    screenings = ScreeningMonthSerializer(many=True)
    outcomes = OutcomeSerializer(many=True)


class RepeatSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    repeat = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)


class OfficeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class OfficeDashboardSerializer(serializers.Serializer):
    office = OfficeRefSerializer()
    period = PeriodSerializer()
    scope = serializers.ChoiceField(choices=["office", "own"], help_text="own: a caseworker's own cases only")
    workload = WorkloadSerializer()
    clock = ClockRowSerializer(many=True, required=False, help_text="Office leads only.")
    assessments = AssessmentFiguresSerializer(required=False, help_text="Office leads only.")
    repeat = RepeatSerializer(required=False, help_text="Office leads only.")


class DistrictRowSerializer(serializers.Serializer):
    month = serializers.CharField()
    station = serializers.CharField()
    office = serializers.CharField()


for _column in dashboard.DISTRICT_COLUMNS[3:]:
    DistrictRowSerializer._declared_fields[_column] = SuppressedField()


class DistrictDashboardSerializer(serializers.Serializer):
    period = PeriodSerializer()
    authorities = serializers.ListField(child=serializers.CharField())
    rows = DistrictRowSerializer(many=True)


def _period(request):
    period, errors = dashboard.parse_period(request.query_params, timezone.localdate())
    if errors:
        raise ValidationError({name: [message] for name, message in errors.items()})
    return period


class OfficeDashboardView(APIView):
    """The office dashboard's figures for one youth office of the caller (``?office=``, default the
    first by name); 403 for anyone who works in no youth office, 404 for an office not theirs."""

    @extend_schema(
        parameters=[*PERIOD_PARAMETERS, OpenApiParameter("office", OpenApiTypes.INT, description="Youth office id.")],
        responses={
            200: OfficeDashboardSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A bad period."),
            403: OpenApiResponse(ErrorSerializer, description="Not a member of a youth office."),
            404: OpenApiResponse(ErrorSerializer, description="Not an office of the caller."),
        },
    )
    def get(self, request):
        _offices, office = dashboard.dashboard_office(request.user, request.query_params.get("office"))
        period = _period(request)
        figures = dashboard.office_dashboard(user=request.user, office=office, period=period, now=timezone.now())
        return Response(OfficeDashboardSerializer(figures).data)


class DistrictDashboardView(APIView):
    """Per police station × youth office and month: referrals filed by urgency and concern, routed
    directly or via triage, forwarded afterwards, median minutes to acknowledge, immediate ones
    acknowledged within the hour, feedback reached police. Counts only; below 3 the string "< 3"."""

    @extend_schema(
        parameters=PERIOD_PARAMETERS,
        responses={
            200: DistrictDashboardSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A bad period."),
            403: OpenApiResponse(ErrorSerializer, description="Neither district nor police coordinator."),
        },
    )
    def get(self, request):
        authorities = dashboard.district_authorities(request.user)
        if not authorities:
            raise PermissionDenied(_("Only the district coordinator and the police coordinator see these figures."))
        period = _period(request)
        rows = dashboard.district_figures(authority_ids=[a.pk for a in authorities], period=period, now=timezone.now())
        # Written out directly (the serializer describes it for the schema): a year of a district is
        # about a thousand rows of twenty cells, which field-by-field serialisation takes a second for.
        data = {
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            "authorities": [a.name for a in authorities],
            "rows": [{name: dashboard.api_cell(value) for name, value in row.items()} for row in rows],
        }
        return Response(data)
