"""The cooperation API: meeting series, meetings, hospitations, information events and the
calendar feed. Scoping: every object comes from its model's ``visible_to`` (outside the caller's
scope every endpoint answers 404, the same as nonexistent); writes go through ``meetings.services``,
whose ``PermissionDenied`` answers 403 and whose ``ValidationError`` answers 400 with field names."""

import datetime

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES, POLICE_ROLES, Role
from core.dates import plausible_day, plausible_day_message
from core.idempotency import IdempotentPostMixin
from core.pagination import KeysetPagination
from core.serializers import DateField, DateTimeField, ErrorSerializer, unknown_value

from .. import ics, services
from ..models import (
    ActionItem,
    AgendaItem,
    CalendarFeedToken,
    Hospitation,
    HospitationStatus,
    Meeting,
    MeetingSeries,
    MeetingStatus,
)
from ..views import events_with_counts
from .serializers import (
    ActionItemInputSerializer,
    ActionItemSerializer,
    AgendaItemInputSerializer,
    AgendaItemSerializer,
    ApproveSerializer,
    CadencePreviewQuerySerializer,
    CadencePreviewSerializer,
    FeedbackSerializer,
    FeedSerializer,
    HospitationRequestSerializer,
    HospitationSerializer,
    InfoEventSerializer,
    InfoEventWriteSerializer,
    MeetingDetailSerializer,
    MeetingSerializer,
    MeetingSeriesSerializer,
    MeetingSeriesWriteSerializer,
    MinutesInputSerializer,
    MoveSerializer,
    NoFieldsSerializer,
    ReasonSerializer,
)

# --- Shared wiring ----------------------------------------------------------------------------------


def _parse(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _require_role(user, *roles, message):
    if not actor_of(user).has_role(*roles):
        raise PermissionDenied(message)


def _moment(name: str, value: str, *, end: bool = False):
    """A ``from``/``to`` filter: an ISO date (local midnight; for ``to`` the end of that day) or an
    ISO date-time, read by the API's strict fields (``core.serializers``): ASCII digits, a day that
    does not exist named as such, a local time the clocks skip refused. A refusal names the parameter."""
    try:
        if len(value) == 10:
            day = DateField().run_validation(value)
            moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        else:
            moment = DateTimeField().run_validation(value)
    except ValidationError as error:
        raise ValidationError({name: error.detail}) from None
    if not plausible_day(timezone.localtime(moment).date()):  # 0001-01-01 and 9999-12-31 overflowed (QA)
        raise ValidationError({name: [plausible_day_message()]})
    return moment + datetime.timedelta(days=1) if end and len(value) == 10 else moment


def _date_range(request, queryset, field="start"):
    params = request.query_params
    if value := params.get("from"):
        queryset = queryset.filter(**{f"{field}__gte": _moment("from", value)})
    if value := params.get("to"):
        queryset = queryset.filter(**{f"{field}__lt": _moment("to", value, end=True)})
    return queryset


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input, or not possible in the current state."),
    403: OpenApiResponse(ErrorSerializer, description="The caller sees the object but lacks the right."),
    404: OpenApiResponse(ErrorSerializer, description="Outside the caller's scope, or nonexistent."),
}
NOT_FOUND = {404: ERRORS[404]}
RANGE = [
    OpenApiParameter("from", OpenApiTypes.STR, description="Start at or after: ISO date or date-time."),
    OpenApiParameter(
        "to", OpenApiTypes.STR, description="Start before the end of this date (or before this date-time)."
    ),
]
PERSON = {"id": 12, "name": "Anna Schmidt"}
OFFICER = {"id": 8, "name": "PK Meier"}
VELBERT = {"id": 30, "name": "Jugendamt Velbert"}
STATION = {"id": 2, "name": "Polizeiwache Velbert"}


def _example(name, value, *, request=False, codes=("200",)):
    if request:
        return OpenApiExample(name, value=value, request_only=True)
    return OpenApiExample(name, value=value, response_only=True, status_codes=list(codes))


# --- Meeting series -----------------------------------------------------------------------------------

SERIES_EXAMPLE = {
    "id": 4,
    "title": "Polizei – Jugendamt Velbert, Sachbearbeiter-Ebene",
    "district": "Kreis Mettmann",
    "agencies": [STATION, VELBERT],
    "invitees": [PERSON, OFFICER],
    "rrule": "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU",
    "first_start": "2026-03-10T10:00:00+01:00",
    "duration_minutes": 90,
    "location": "Rathaus Velbert, Raum 2.14",
    "video_link": "",
    "horizon_days": 183,
    "is_active": True,
    "created_at": "2026-01-15T09:12:00+01:00",
    "cadence": {
        "next_dates": ["2026-03-10T10:00:00+01:00", "2026-06-09T10:00:00+02:00", "2026-09-08T10:00:00+02:00"],
        "first_start_is_occurrence": True,
    },
}
SERIES_INPUT = {
    "title": "Polizei – Jugendamt Velbert, Sachbearbeiter-Ebene",
    "agencies": [2, 30],
    "invitees": [12, 8],
    "rrule": "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU",
    "first_start": "2026-03-10T10:00:00+01:00",
    "duration_minutes": 90,
    "location": "Rathaus Velbert, Raum 2.14",
}


@extend_schema_view(
    list=extend_schema(
        summary="Meeting series visible to the caller",
        description="Series the caller is invited to, whose agencies they lead, or of their district (coordinator).",
        examples=[_example("Series", SERIES_EXAMPLE)],
    ),
    retrieve=extend_schema(
        summary="One meeting series", responses={200: MeetingSeriesSerializer, **NOT_FOUND},
        examples=[_example("Series", SERIES_EXAMPLE)],
    ),
)  # fmt: skip
class MeetingSeriesViewSet(
    IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Series through ``MeetingSeries.objects.visible_to``. Creating and changing is the district
    coordinator's (checked by the service: 403 for anyone else who sees the series)."""

    serializer_class = MeetingSeriesSerializer
    pagination_class = KeysetPagination
    keyset_ordering = ["title", "id"]

    def get_queryset(self):
        return (
            MeetingSeries.objects.visible_to(self.request.user)
            .select_related("district")
            .prefetch_related("agencies", "invitees")
        )

    def _fresh(self, pk):
        return MeetingSeriesSerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(
        summary="Create a series (district coordinator)",
        description="The next occurrences (`horizon_days` ahead) are proposed at once, avoiding weekends, public "
        "holidays and the invited people's other dates. Invitations (e-mail with .ics) go out when the coordinator "
        "confirms a date.",
        request=MeetingSeriesWriteSerializer,
        responses={201: MeetingSeriesSerializer, 400: ERRORS[400], 403: ERRORS[403]},
        examples=[_example("Request", SERIES_INPUT, request=True), _example("Created", SERIES_EXAMPLE, codes=["201"])],
    )
    def create(self, request, *args, **kwargs):
        user = request.user
        _require_role(user, Role.DISTRICT_COORDINATOR, message=_("Only the district coordinator creates series."))
        data = _parse(MeetingSeriesWriteSerializer, request)
        data.pop("is_active", None)
        series = services.series_create(user=user, **data)
        return Response(self._fresh(series.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Preview a cadence before creating or changing a series (district coordinator)",
        description="The next dates a cadence gives from `first_start` (or from now, if later), as they will be "
        "proposed, and whether `first_start` is itself a date of the cadence. Nothing is saved.",
        parameters=[
            OpenApiParameter("rrule", str, required=True, description="RFC 5545 rule, e.g. FREQ=MONTHLY;BYDAY=2TU"),
            OpenApiParameter("first_start", OpenApiTypes.DATETIME, required=True, description="ISO, with offset"),
        ],
        responses={200: CadencePreviewSerializer, 400: ERRORS[400], 403: ERRORS[403]},
        examples=[
            _example("Not an occurrence", {"next_dates": ["2027-03-09T10:00:00+01:00", "2027-06-08T10:00:00+02:00",
                     "2027-09-14T10:00:00+02:00"], "first_start_is_occurrence": False}),
        ],
    )  # fmt: skip
    @action(detail=False, methods=["get"], pagination_class=None)
    def preview(self, request):
        _require_role(request.user, Role.DISTRICT_COORDINATOR, message=_("Only the district coordinator plans series."))
        query = CadencePreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        preview = services.series_preview(**query.validated_data)
        return Response(CadencePreviewSerializer(preview).data)

    @extend_schema(
        summary="Change a series (district coordinator)",
        description="Send only what changes. Future dates that are not confirmed follow a new cadence or place; "
        "invited people are told about changed dates.",
        request=MeetingSeriesWriteSerializer(partial=True),
        responses={200: MeetingSeriesSerializer, **ERRORS},
        examples=[
            _example("Request", {"location": "Polizeiwache Velbert, Besprechungsraum", "duration_minutes": 120},
                     request=True),
            _example("Changed", {**SERIES_EXAMPLE, "location": "Polizeiwache Velbert, Besprechungsraum",
                                 "duration_minutes": 120}),
        ],
    )  # fmt: skip
    def partial_update(self, request, *args, **kwargs):
        series = self.get_object()
        serializer = MeetingSeriesWriteSerializer(instance=series, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.series_update(series=series, user=request.user, **serializer.validated_data)
        return Response(self._fresh(series.pk))


# --- Meetings -----------------------------------------------------------------------------------------


class ICalendarRenderer(BaseRenderer):
    """Lets a client ask for ``text/calendar``; errors still come as JSON text."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        return JSONRenderer().render(data)


MEETING_EXAMPLE = {
    "id": 17,
    "series": {"id": 4, "title": SERIES_EXAMPLE["title"]},
    "occurrence": "2026-06-09T10:00:00+02:00",
    "start": "2026-06-09T10:00:00+02:00",
    "end": "2026-06-09T11:30:00+02:00",
    "location": "Rathaus Velbert, Raum 2.14",
    "video_link": "",
    "status": "proposed",
    "uid": "5d0a4f0e-8a8b-4f57-9a39-1c0d6c1b2b7e",
    "sequence": 0,
}
MEETING_DETAIL_EXAMPLE = {
    **MEETING_EXAMPLE,
    "invitees": [PERSON, OFFICER],
    "minutes": "",
    "agenda_items": [
        {"id": 3, "title": "Erreichbarkeit am Wochenende", "notes": "", "proposed_by": OFFICER,
         "created_at": "2026-05-20T08:00:00+02:00"}
    ],
    "attendance": [],
    "action_items": [],
}  # fmt: skip


def meeting_action_schema(summary, description, request, request_example, response_example, **extra):
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={200: MeetingDetailSerializer, **ERRORS, **extra},
        examples=[
            *([_example("Request", request_example, request=True)] if request_example is not None else []),
            _example("Meeting", response_example),
        ],
    )


@extend_schema_view(
    list=extend_schema(
        summary="Meetings visible to the caller",
        description="Dates of the series the caller sees, by start.",
        parameters=[*RANGE, OpenApiParameter("status", OpenApiTypes.STR, enum=MeetingStatus.values)],
        examples=[_example("Meetings", MEETING_EXAMPLE)],
    ),
    retrieve=extend_schema(
        summary="One meeting with agenda, minutes, attendance and action items",
        responses={200: MeetingDetailSerializer, **NOT_FOUND},
        examples=[_example("Meeting", MEETING_DETAIL_EXAMPLE)],
    ),
)
class MeetingViewSet(IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Meetings through ``Meeting.objects.visible_to``. Confirming, moving, cancelling, minutes and
    action items are the coordinator's; any invited person proposes agenda items (the service
    decides: 403 inside the scope)."""

    serializer_class = MeetingSerializer
    pagination_class = KeysetPagination
    keyset_ordering = ["start", "id"]

    def get_queryset(self):
        queryset = Meeting.objects.visible_to(self.request.user).select_related("series")
        if self.action == "list":
            queryset = _date_range(self.request, queryset)
            if (value := self.request.query_params.get("status")) is not None:
                if value not in MeetingStatus.values:
                    raise ValidationError({"status": [unknown_value(MeetingStatus.values)]})
                queryset = queryset.filter(status=value)
        return queryset

    def get_serializer_class(self):
        return MeetingDetailSerializer if self.action == "retrieve" else MeetingSerializer

    def _detail(self, pk) -> Response:
        meeting = (
            self.get_queryset()
            .prefetch_related(
                "series__invitees",
                Prefetch("agenda_items", queryset=AgendaItem.objects.select_related("proposed_by")),
                Prefetch("action_items", queryset=ActionItem.objects.select_related("owner")),
                "attendance__person",
            )
            .get(pk=pk)
        )
        return Response(MeetingDetailSerializer(meeting).data)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object().pk)

    def perform_content_negotiation(self, request, force=False):
        # The calendar file answers as text/calendar whatever the client accepts; errors in JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "ics")

    @extend_schema(
        summary="The meeting as an iCalendar file",
        description="`METHOD:REQUEST` (or `CANCEL` for a cancelled date), the meeting's stable `UID` and its "
        "`SEQUENCE` (raised with every change the invited people were told about).",
        responses={(200, "text/calendar"): OpenApiTypes.STR, (404, "application/json"): ErrorSerializer},
        examples=[
            OpenApiExample(
                "Calendar",
                value="BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:5d0a4f0e-8a8b-4f57-9a39-1c0d6c1b2b7e\r\n"
                "SEQUENCE:0\r\nDTSTART:20260609T080000Z\r\n...\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                response_only=True,
                status_codes=["200"],
                media_type="text/calendar",
            ),
            OpenApiExample(
                "Not found",
                value={"detail": "Not found."},
                response_only=True,
                status_codes=["404"],
                media_type="application/json",
            ),
        ],
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, ICalendarRenderer])
    def ics(self, request, pk=None):
        meeting = self.get_object()
        method = "CANCEL" if meeting.status == MeetingStatus.CANCELLED else "REQUEST"
        response = HttpResponse(ics.meeting_ics(meeting, method=method), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="termin-{meeting.pk}.ics"'
        return response

    @meeting_action_schema(
        "Confirm a proposed date (coordinator)",
        "The invited people get the confirmed date (.ics, SEQUENCE raised). No fields: send no body or `{}` "
        "(anything else, a list or a field, is 400 and confirms nothing).",
        NoFieldsSerializer,
        {},
        {**MEETING_DETAIL_EXAMPLE, "status": "confirmed", "sequence": 1},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        meeting = self.get_object()
        _parse(NoFieldsSerializer, request)
        services.meeting_confirm(meeting=meeting, user=request.user)
        return self._detail(meeting.pk)

    @meeting_action_schema(
        "Move a date (coordinator)",
        "Without `end` the meeting keeps its length; `location` or `video_link` omitted: unchanged. Every invited "
        "person is told (.ics, SEQUENCE raised).",
        MoveSerializer,
        {"start": "2026-06-16T10:00:00+02:00"},
        {**MEETING_DETAIL_EXAMPLE, "start": "2026-06-16T10:00:00+02:00", "end": "2026-06-16T11:30:00+02:00",
         "status": "confirmed", "sequence": 2},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        meeting = self.get_object()
        data = _parse(MoveSerializer, request)
        services.meeting_move(
            meeting=meeting,
            user=request.user,
            start=data["start"],
            end=data.get("end"),
            location=data.get("location"),
            video_link=data.get("video_link"),
        )
        return self._detail(meeting.pk)

    @meeting_action_schema(
        "Cancel a date (coordinator)",
        "Every invited person is told, with the reason (.ics with METHOD:CANCEL).",
        ReasonSerializer,
        {"reason": "Personalengpass in der Urlaubszeit."},
        {**MEETING_DETAIL_EXAMPLE, "status": "cancelled", "sequence": 1},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        meeting = self.get_object()
        data = _parse(ReasonSerializer, request)
        services.meeting_cancel(meeting=meeting, user=request.user, reason=data["reason"])
        return self._detail(meeting.pk)

    @extend_schema(
        summary="Propose an agenda item (anyone who sees the meeting)",
        description="For a coming (proposed or confirmed) meeting. Cases are discussed anonymised: no names, "
        "addresses or reference numbers.",
        request=AgendaItemInputSerializer,
        responses={201: AgendaItemSerializer, **ERRORS},
        examples=[
            _example("Request", {"title": "Erreichbarkeit am Wochenende", "notes": ""}, request=True),
            _example("Added", MEETING_DETAIL_EXAMPLE["agenda_items"][0], codes=["201"]),
        ],
    )
    @action(detail=True, methods=["post"])
    def agenda(self, request, pk=None):
        meeting = self.get_object()
        data = _parse(AgendaItemInputSerializer, request)
        item = services.agenda_item_add(meeting=meeting, user=request.user, **data)
        return Response(AgendaItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @meeting_action_schema(
        "Save minutes and attendance (coordinator)",
        "Of a confirmed meeting that has begun; it is then `held`. `present_user_ids`: the invited people who were "
        "there; everyone else invited counts as absent. Saving again corrects both.",
        MinutesInputSerializer,
        {"minutes": "1. Erreichbarkeit: Rufbereitschaft ab 1. Juli über Leitstelle.", "present_user_ids": [12, 8]},
        {**MEETING_DETAIL_EXAMPLE, "status": "held",
         "minutes": "1. Erreichbarkeit: Rufbereitschaft ab 1. Juli über Leitstelle.",
         "attendance": [{"person": PERSON, "present": True}, {"person": OFFICER, "present": True}]},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def minutes(self, request, pk=None):
        meeting = self.get_object()
        data = _parse(MinutesInputSerializer, request)
        services.meeting_minutes_save(
            meeting=meeting,
            user=request.user,
            minutes=data["minutes"],
            present_user_ids=list(dict.fromkeys(data["present_user_ids"])),
        )
        return self._detail(meeting.pk)

    @extend_schema(
        summary="Add an action item (coordinator or an invited person)",
        description="Of a confirmed or held meeting. The owner (an invited person or the coordinator) is told and "
        "reminded before the due date.",
        request=ActionItemInputSerializer,
        responses={201: ActionItemSerializer, **ERRORS},
        examples=[
            _example("Request", {"title": "Liste der Ansprechpersonen aktualisieren", "owner": 12,
                                 "due_on": "2026-07-01"}, request=True),
            _example("Added", {"id": 5, "title": "Liste der Ansprechpersonen aktualisieren", "owner": PERSON,
                               "due_on": "2026-07-01", "done_at": None}, codes=["201"]),
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path="actions", url_name="actions")
    def action_items(self, request, pk=None):
        meeting = self.get_object()
        data = _parse(ActionItemInputSerializer, request)
        item = services.action_item_add(meeting=meeting, user=request.user, **data)
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Mark an action item done (its owner or the coordinator)",
        request=None,
        parameters=[OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: ActionItemSerializer, **ERRORS},
        examples=[
            _example("Done", {"id": 5, "title": "Liste der Ansprechpersonen aktualisieren", "owner": PERSON,
                              "due_on": "2026-07-01", "done_at": "2026-06-20T14:02:00+02:00"}),
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path=r"actions/(?P<item_id>[0-9]+)/done", url_name="action-done")
    def action_done(self, request, pk=None, item_id=None):
        meeting = self.get_object()
        item = get_object_or_404(meeting.action_items.select_related("owner"), pk=item_id)
        services.action_item_done(item=item, user=request.user)
        item.refresh_from_db()
        return Response(ActionItemSerializer(item).data)


# --- Hospitations -------------------------------------------------------------------------------------

HOSPITATION_EXAMPLE = {
    "id": 9,
    "requester": OFFICER,
    "requester_agency": STATION,
    "host_agency": VELBERT,
    "wished_dates": ["2026-04-14", "2026-04-21"],
    "purpose": "Ablauf einer Gefährdungseinschätzung kennenlernen.",
    "status": "requested",
    "date": None,
    "host_person": None,
    "decline_reason": "",
    "feedback": "",
    "created_at": "2026-03-02T11:20:00+01:00",
}


def hospitation_schema(summary, description, request, request_example, response_example):
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={200: HospitationSerializer, **ERRORS},
        examples=[_example("Request", request_example, request=True), _example("Hospitation", response_example)],
    )


@extend_schema_view(
    list=extend_schema(
        summary="Hospitations visible to the caller",
        description="The caller's own requests, the visits they host, and for leads the programme of their "
        "agencies (both sides); the district coordinator sees the district's.",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=HospitationStatus.values)],
        examples=[_example("Hospitations", HOSPITATION_EXAMPLE)],
    ),
    retrieve=extend_schema(
        summary="One hospitation", responses={200: HospitationSerializer, **NOT_FOUND},
        examples=[_example("Hospitation", HOSPITATION_EXAMPLE)],
    ),
)  # fmt: skip
class HospitationViewSet(
    IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Hospitations through ``Hospitation.objects.visible_to``. The host's lead approves or declines;
    completion with feedback after the visit."""

    serializer_class = HospitationSerializer
    pagination_class = KeysetPagination
    keyset_ordering = ["-created_at", "-id"]

    def get_queryset(self):
        queryset = Hospitation.objects.visible_to(self.request.user).select_related(
            "requester", "requester_agency", "host_agency", "host_person"
        )
        if self.action == "list" and (value := self.request.query_params.get("status")) is not None:
            if value not in HospitationStatus.values:
                raise ValidationError({"status": [unknown_value(HospitationStatus.values)]})
            queryset = queryset.filter(status=value)
        return queryset

    def _fresh(self, pk):
        return HospitationSerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(
        summary="Ask to shadow the other side (police officers and youth-office staff)",
        description="The requester's agency comes from their membership; the host's lead is notified.",
        request=HospitationRequestSerializer,
        responses={201: HospitationSerializer, 400: ERRORS[400], 403: ERRORS[403]},
        examples=[
            _example("Request", {"host_agency": 30, "wished_dates": ["2026-04-14", "2026-04-21"],
                                 "purpose": "Ablauf einer Gefährdungseinschätzung kennenlernen."}, request=True),
            _example("Requested", HOSPITATION_EXAMPLE, codes=["201"]),
        ],
    )  # fmt: skip
    def create(self, request, *args, **kwargs):
        user = request.user
        _require_role(
            user, *POLICE_ROLES, *OFFICE_ROLES, message=_("Only police and youth-office staff request hospitations.")
        )
        data = _parse(HospitationRequestSerializer, request)
        hospitation = services.hospitation_request(user=user, **data)
        return Response(self._fresh(hospitation.pk), status=status.HTTP_201_CREATED)

    @hospitation_schema(
        "Approve with date and host person (lead of the host agency)",
        "At most the configured number of visitors a day per host agency; both sides are notified.",
        ApproveSerializer,
        {"date": "2026-04-14", "host_person": 12},
        {**HOSPITATION_EXAMPLE, "status": "approved", "date": "2026-04-14", "host_person": PERSON},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        hospitation = self.get_object()
        data = _parse(ApproveSerializer, request)
        services.hospitation_approve(hospitation=hospitation, user=request.user, **data)
        return Response(self._fresh(hospitation.pk))

    @hospitation_schema(
        "Decline with a reason (lead of the host agency)",
        "The requester sees the reason.",
        ReasonSerializer,
        {"reason": "Im April keine Kapazität, bitte ab Mai erneut anfragen."},
        {**HOSPITATION_EXAMPLE, "status": "declined",
         "decline_reason": "Im April keine Kapazität, bitte ab Mai erneut anfragen."},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        hospitation = self.get_object()
        data = _parse(ReasonSerializer, request)
        services.hospitation_decline(hospitation=hospitation, user=request.user, reason=data["reason"])
        return Response(self._fresh(hospitation.pk))

    @hospitation_schema(
        "Complete with short feedback (visitor or host person)",
        "On or after the day of the visit.",
        FeedbackSerializer,
        {"feedback": "Sehr hilfreich, Abläufe der Rufbereitschaft sind jetzt klar."},
        {**HOSPITATION_EXAMPLE, "status": "completed", "date": "2026-04-14", "host_person": PERSON,
         "feedback": "Sehr hilfreich, Abläufe der Rufbereitschaft sind jetzt klar."},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        hospitation = self.get_object()
        data = _parse(FeedbackSerializer, request)
        services.hospitation_complete(hospitation=hospitation, user=request.user, feedback=data["feedback"])
        return Response(self._fresh(hospitation.pk))


# --- Information events -------------------------------------------------------------------------------

EVENT_EXAMPLE = {
    "id": 6,
    "title": "Häusliche Gewalt: Wohnungsverweisung und Rückkehrverbot",
    "description": "Ablauf nach § 34a PolG NRW, Zusammenarbeit mit dem Jugendamt.",
    "audience": "youth_offices",
    "host_agency": {"id": 1, "name": "Kreispolizeibehörde Mettmann"},
    "start": "2026-05-05T14:00:00+02:00",
    "end": "2026-05-05T16:00:00+02:00",
    "place": "Kreispolizeibehörde Mettmann, Saal 1",
    "capacity": 30,
    "registration_deadline": "2026-04-28T23:59:00+02:00",
    "is_cancelled": False,
    "registered": 29,
    "waitlisted": 0,
    "seats_left": 1,
    "my_registration": None,
    "uid": "a3c9f2d1-5b0e-4c47-8e0e-2f0a9d6b4c11",
    "sequence": 0,
}
EVENT_INPUT = {k: v for k, v in EVENT_EXAMPLE.items() if k in InfoEventWriteSerializer._declared_fields} | {
    "host_agency": 1
}


@extend_schema_view(
    list=extend_schema(
        summary="Information events visible to the caller",
        description="Events of the caller's district whose audience includes their side, their own agency's "
        "events, and for the coordinator all of the district. With seats left and waiting list.",
        parameters=RANGE,
        examples=[_example("Events", EVENT_EXAMPLE)],
    ),
    retrieve=extend_schema(
        summary="One information event", responses={200: InfoEventSerializer, **NOT_FOUND},
        examples=[_example("Event", EVENT_EXAMPLE)],
    ),
)  # fmt: skip
class InfoEventViewSet(IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Events through ``InfoEvent.objects.visible_to``. Registration is first come, first served; a
    full event keeps a waiting list that moves up on cancellation."""

    serializer_class = InfoEventSerializer
    pagination_class = KeysetPagination
    keyset_ordering = ["start", "id"]

    def get_queryset(self):
        queryset = events_with_counts(self.request.user)
        if self.action == "list":
            queryset = _date_range(self.request, queryset)
        return queryset

    def _fresh(self, pk):
        return InfoEventSerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(
        summary="Publish an information event (leads and the district coordinator)",
        request=InfoEventWriteSerializer,
        responses={201: InfoEventSerializer, 400: ERRORS[400], 403: ERRORS[403]},
        examples=[
            _example("Request", EVENT_INPUT, request=True),
            _example("Published", {**EVENT_EXAMPLE, "registered": 0, "seats_left": 30}, codes=["201"]),
        ],
    )
    def create(self, request, *args, **kwargs):
        user = request.user
        _require_role(
            user,
            Role.OFFICE_LEAD,
            Role.POLICE_COORDINATOR,
            Role.DISTRICT_COORDINATOR,
            message=_("Only leads and the district coordinator publish events."),
        )
        data = _parse(InfoEventWriteSerializer, request)
        event = services.event_create(user=user, **data)
        return Response(self._fresh(event.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Register for the event",
        description="Answers with the event; `my_registration` is `registered`, or `waitlisted` when it is full. "
        "Two registrations racing for the last seat: one gets it, the other is waitlisted.",
        request=None,
        responses={200: InfoEventSerializer, **ERRORS},
        examples=[_example("Registered", {**EVENT_EXAMPLE, "registered": 30, "seats_left": 0,
                                          "my_registration": "registered"})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def register(self, request, pk=None):
        event = self.get_object()
        services.event_register(event=event, user=request.user)
        return Response(self._fresh(event.pk))

    @extend_schema(
        summary="Cancel one's registration",
        description="The first person on the waiting list moves up and is notified.",
        request=None,
        responses={200: InfoEventSerializer, **ERRORS},
        examples=[_example("Cancelled", {**EVENT_EXAMPLE, "registered": 28, "seats_left": 2})],
    )
    @action(detail=True, methods=["post"], url_path="cancel-registration", url_name="cancel-registration")
    def cancel_registration(self, request, pk=None):
        event = self.get_object()
        services.event_cancel_registration(event=event, user=request.user)
        return Response(self._fresh(event.pk))


# --- Calendar feed ------------------------------------------------------------------------------------


def feed_answer(request, token: CalendarFeedToken) -> dict:
    url = request.build_absolute_uri(reverse("meetings:feed", args=[token.token]))
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1], "created_at": token.created_at}


class CalendarFeedView(APIView):
    """The caller's personal calendar subscription (webcal): all their meetings, hospitations and
    events. The token in the address is its only secret."""

    @extend_schema(
        summary="The caller's subscription address (created on first use)",
        responses={200: FeedSerializer},
        examples=[
            _example(
                "Feed",
                {
                    "url": "https://kinderschutz.example/cooperation/calendar/q3V9xk2LwT0aP7mN4bR8sC1dE6fG5hJ.ics",
                    "webcal_url": "webcal://kinderschutz.example/cooperation/calendar/q3V9xk2LwT0aP7mN4bR8sC1dE6fG5hJ.ics",
                    "created_at": "2026-03-01T08:00:00+01:00",
                },
            )
        ],
    )
    def get(self, request):
        token = services.feed_token_get_or_create(user=request.user)
        return Response(feed_answer(request, token))

    @extend_schema(
        summary="Revoke the subscription address",
        description="Calendars subscribed to it get 404 from now on; the next GET creates a new address.",
        responses={204: None},
    )
    def delete(self, request):
        services.feed_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
