"""API representations of the cooperation programme. Writes go through ``meetings.services``; these
classes only parse and render. People appear as ``{id, name}``, agencies as ``{id, name}``."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agencies.api.serializers import AgencyRefSerializer
from agencies.models import Agency
from core.serializers import DateField, DateTimeField, IdField, ModelSerializer, StrictCharField, UserRefSerializer

from ..forms import REASON_LIMIT
from ..models import (
    TEXT_LIMIT,
    ActionItem,
    AgendaItem,
    Attendance,
    Audience,
    Hospitation,
    HospitationStatus,
    InfoEvent,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    RegistrationStatus,
)
from ..services import rrule_problem, series_preview

PEOPLE_LIMIT = 200


def active_agencies():
    return Agency.objects.filter(is_active=True)


class PeopleField(serializers.ListField):
    """A list of person ids. The service checks them (unknown ids and people who may not be chosen
    get the same answer: no telling which ids exist)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=2**63 - 1))
        kwargs.setdefault("max_length", PEOPLE_LIMIT)
        super().__init__(**kwargs)


def status_field(choices):
    """A read-only status with its values in the schema. The enum sits inside ``allOf`` so that
    drf-spectacular does not turn it into a shared ``StatusEnum`` component: referrals, meetings and
    hospitations each have a ``status`` of their own, and the names would collide."""

    @extend_schema_field({"allOf": [{"type": "string", "enum": list(choices.values)}]})
    class StatusField(serializers.ChoiceField):
        pass

    return StatusField(choices=choices.choices, read_only=True)


# --- Series -------------------------------------------------------------------------------------------


class CadencePreviewSerializer(serializers.Serializer):
    """What a cadence gives before anything is saved (``meetings.services.series_preview``)."""

    next_dates = serializers.ListField(
        child=DateTimeField(),
        help_text="The next dates of the cadence as they will be proposed (weekends and public holidays moved to "
        "the next working day), from the first date or from now, whichever is later.",
    )
    first_start_is_occurrence = serializers.BooleanField(
        help_text="False when the first date entered is not itself a date of the cadence (e.g. the 3rd Tuesday "
        "for a series on the 2nd Tuesday): the series then starts with the first of `next_dates`."
    )

    def to_representation(self, instance):
        return super().to_representation(
            {"next_dates": instance.dates, "first_start_is_occurrence": instance.first_start_is_occurrence}
        )


class CadencePreviewQuerySerializer(serializers.Serializer):
    rrule = StrictCharField(
        max_length=300, help_text="RFC 5545 recurrence rule, e.g. FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"
    )
    first_start = DateTimeField()

    def validate_rrule(self, value):
        return value.strip().upper().removeprefix("RRULE:")

    def validate(self, attrs):
        problem = rrule_problem(attrs["rrule"], attrs["first_start"])
        if problem:
            raise serializers.ValidationError({"rrule": [problem]})
        return attrs


class MeetingSeriesSerializer(ModelSerializer):
    agencies = AgencyRefSerializer(many=True, read_only=True)
    invitees = UserRefSerializer(many=True, read_only=True)
    district = serializers.CharField(source="district.name", read_only=True)
    cadence = serializers.SerializerMethodField(help_text="The next dates the cadence gives from now.")

    class Meta:
        model = MeetingSeries
        fields = [
            "id", "title", "district", "agencies", "invitees", "rrule", "first_start", "duration_minutes",
            "location", "video_link", "horizon_days", "is_active", "created_at", "cadence",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(CadencePreviewSerializer(allow_null=True))
    def get_cadence(self, series):
        try:
            preview = series_preview(rrule=series.rrule, first_start=series.first_start)
        except DjangoValidationError:
            return None
        return CadencePreviewSerializer(preview).data


class MeetingSeriesWriteSerializer(serializers.Serializer):
    """A new series (all required but place and video link), or the changed fields of one (PATCH)."""

    title = StrictCharField(max_length=200)
    agencies = IdField(
        queryset=active_agencies(), many=True, allow_empty=False, help_text="Ids of the participating agencies."
    )
    invitees = PeopleField(
        allow_empty=False, help_text="Ids of the people invited; each must belong to a participating agency."
    )
    rrule = StrictCharField(
        max_length=300, help_text="RFC 5545 recurrence rule, e.g. FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"
    )
    first_start = DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=15, max_value=600, default=90)
    location = StrictCharField(max_length=300, allow_blank=True, default="")
    video_link = serializers.URLField(allow_blank=True, default="")
    horizon_days = serializers.IntegerField(min_value=7, max_value=366, default=183)
    is_active = serializers.BooleanField(required=False, help_text="Only when changing: false stops the series.")

    def validate_rrule(self, value):
        value = value.strip().upper().removeprefix("RRULE:")
        problem = rrule_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


# --- Meetings -----------------------------------------------------------------------------------------


class SeriesRefSerializer(ModelSerializer):
    class Meta:
        model = MeetingSeries
        fields = ["id", "title"]


class MeetingSerializer(ModelSerializer):
    series = SeriesRefSerializer(read_only=True)
    status = status_field(MeetingStatus)

    class Meta:
        model = Meeting
        fields = [
            "id", "series", "occurrence", "start", "end", "location", "video_link", "status", "uid", "sequence",
        ]  # fmt: skip
        read_only_fields = fields


class AgendaItemSerializer(ModelSerializer):
    proposed_by = UserRefSerializer(read_only=True)

    class Meta:
        model = AgendaItem
        fields = ["id", "title", "notes", "proposed_by", "created_at"]
        read_only_fields = fields


class ActionItemSerializer(ModelSerializer):
    owner = UserRefSerializer(read_only=True)

    class Meta:
        model = ActionItem
        fields = ["id", "title", "owner", "due_on", "done_at"]
        read_only_fields = fields


class AttendanceSerializer(ModelSerializer):
    person = UserRefSerializer(read_only=True)

    class Meta:
        model = Attendance
        fields = ["person", "present"]
        read_only_fields = fields


class MeetingDetailSerializer(MeetingSerializer):
    """One date with its agenda, minutes, attendance and action items."""

    agenda_items = AgendaItemSerializer(many=True, read_only=True)
    action_items = ActionItemSerializer(many=True, read_only=True)
    attendance = AttendanceSerializer(many=True, read_only=True)
    invitees = UserRefSerializer(source="series.invitees", many=True, read_only=True)

    class Meta(MeetingSerializer.Meta):
        fields = [*MeetingSerializer.Meta.fields, "invitees", "minutes", "agenda_items", "attendance", "action_items"]
        read_only_fields = fields


class MoveSerializer(serializers.Serializer):
    start = DateTimeField()
    end = DateTimeField(
        required=False, allow_null=True, help_text="Omitted or null: the new start plus the meeting's current length."
    )
    location = StrictCharField(max_length=300, required=False, allow_blank=True, help_text="Omitted: unchanged.")
    video_link = serializers.URLField(required=False, allow_blank=True, help_text="Omitted: unchanged.")

    def validate(self, attrs):
        if attrs.get("end") and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": [str(_("The end must be after the start."))]})
        return attrs


class NoFieldsSerializer(serializers.Serializer):
    """The body of an action that takes nothing (``confirm``): none, or an empty JSON object. A list, a
    text or a number is refused as not an object (DRF), and every field sent is named (400): the action
    would ignore it, and a client that sends one has mistaken what the action does."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        message = _("This action takes no fields: send no body or an empty JSON object.")
        if unknown := sorted(set(data) - set(self.fields)):
            raise serializers.ValidationError({name: [message] for name in unknown})
        return value


class ReasonSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=REASON_LIMIT)


class AgendaItemInputSerializer(serializers.Serializer):
    title = StrictCharField(max_length=200)
    notes = StrictCharField(max_length=TEXT_LIMIT, required=False, allow_blank=True, default="")


class MinutesInputSerializer(serializers.Serializer):
    minutes = StrictCharField(max_length=TEXT_LIMIT, allow_blank=True)
    present_user_ids = PeopleField(required=False, default=list, help_text="Ids of the invited people present.")


class ActionItemInputSerializer(serializers.Serializer):
    title = StrictCharField(max_length=200)
    owner = serializers.IntegerField(min_value=1, help_text="Id of an invited person.")
    due_on = DateField()


# --- Hospitations -------------------------------------------------------------------------------------


class HospitationSerializer(ModelSerializer):
    requester = UserRefSerializer(read_only=True)
    requester_agency = AgencyRefSerializer(read_only=True)
    host_agency = AgencyRefSerializer(read_only=True)
    host_person = UserRefSerializer(read_only=True, allow_null=True)
    wished_dates = serializers.ListField(child=DateField(), read_only=True)
    status = status_field(HospitationStatus)

    class Meta:
        model = Hospitation
        fields = [
            "id", "requester", "requester_agency", "host_agency", "wished_dates", "purpose", "status", "date",
            "host_person", "decline_reason", "feedback", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class HospitationRequestSerializer(serializers.Serializer):
    host_agency = IdField(queryset=active_agencies(), help_text="Id of the agency to visit.")
    wished_dates = serializers.ListField(child=DateField(), min_length=1, max_length=5)
    purpose = StrictCharField(max_length=2000)


class ApproveSerializer(serializers.Serializer):
    date = DateField()
    host_person = serializers.IntegerField(min_value=1, help_text="Id of a person of the host agency.")


class FeedbackSerializer(serializers.Serializer):
    feedback = StrictCharField(max_length=REASON_LIMIT)


# --- Events -------------------------------------------------------------------------------------------


class InfoEventSerializer(ModelSerializer):
    host_agency = AgencyRefSerializer(read_only=True)
    registered = serializers.IntegerField(source="registered_count", read_only=True)
    waitlisted = serializers.IntegerField(source="waitlist_count", read_only=True)
    seats_left = serializers.SerializerMethodField()
    my_registration = serializers.ChoiceField(
        source="my_status",
        choices=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED],
        read_only=True,
        allow_null=True,
        help_text="The caller's registration: registered, waitlisted, or null.",
    )

    class Meta:
        model = InfoEvent
        fields = [
            "id", "title", "description", "audience", "host_agency", "start", "end", "place", "capacity",
            "registration_deadline", "is_cancelled", "registered", "waitlisted", "seats_left", "my_registration",
            "uid", "sequence",
        ]  # fmt: skip
        read_only_fields = fields

    def get_seats_left(self, event) -> int:
        return max(event.capacity - event.registered_count, 0)


class InfoEventWriteSerializer(serializers.Serializer):
    host_agency = IdField(queryset=active_agencies())
    title = StrictCharField(max_length=200)
    description = StrictCharField(max_length=TEXT_LIMIT, allow_blank=True, default="")
    audience = serializers.ChoiceField(choices=Audience.choices)
    start = DateTimeField()
    end = DateTimeField()
    place = StrictCharField(max_length=300)
    capacity = serializers.IntegerField(min_value=1, max_value=10_000)
    registration_deadline = DateTimeField()

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": [str(_("The end must be after the start."))]})
        if attrs["registration_deadline"] > attrs["start"]:
            raise serializers.ValidationError(
                {"registration_deadline": [str(_("Registration must close before the event starts."))]}
            )
        return attrs


# --- Calendar feed ------------------------------------------------------------------------------------


class FeedSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The feed over HTTPS (or HTTP): the token is its only secret.")
    webcal_url = serializers.CharField(help_text="The same address for calendar programs (webcal://).")
    created_at = DateTimeField()
