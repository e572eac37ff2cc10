"""API representations of referrals. Writes go through ``referrals.services``; these classes only
parse and render."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agencies.actor import actor_of
from agencies.api.serializers import AgencyRefSerializer
from agencies.models import Agency
from core.serializers import (
    DateField,
    DateTimeField,
    ErrorSerializer,
    IdField,
    ModelSerializer,
    StrictCharField,
    UserRefSerializer,
)

from ..clocks import is_overdue
from ..dialogue_models import EVENT_LABELS, event_label
from ..models import (
    TEXT_LIMIT,
    Assessment,
    Attachment,
    Child,
    Concern,
    FollowUp,
    Measure,
    Note,
    Outcome,
    Person,
    PoliceMeasure,
    Referral,
    ReferralEvent,
    RiskFactor,
    Status,
    Urgency,
)
from ..selectors import FeedbackCode, police_feedback
from ..validators import ascii_postcode_validator, plausible_birth_date, plausible_incident_at, postcode_to_ascii
from .assessment_children import (
    AssessmentChildInputSerializer,
    AssessmentChildSerializer,
    AssessmentVersionSerializer,
    impressions_field,
    professionals_field,
)

REASON_LIMIT = 2_000  # a written reason, not a report


class StrictModelSerializer(ModelSerializer):
    serializer_field_mapping = {
        **ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


class PostcodeSerializerField(StrictCharField):
    """A postcode: digits of any script become ASCII digits (４０７２３ is stored and routed as 40723);
    anything else that is not five digits is refused."""

    def to_internal_value(self, data):
        return postcode_to_ascii(super().to_internal_value(data))


class BirthDateMixin:
    def validate_date_of_birth(self, value):
        plausible_birth_date(value)
        return value


class ChildSerializer(BirthDateMixin, StrictModelSerializer):
    class Meta:
        model = Child
        fields = [
            "id",  # read-only: what the per-child parts of an assessment name (``children[].child``)
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "whereabouts",
            "school_or_kita",
            "address_if_different",
        ]


class PersonSerializer(BirthDateMixin, StrictModelSerializer):
    class Meta:
        model = Person
        fields = [
            "role", "first_name", "last_name", "date_of_birth", "phone", "address", "relation_to_child",
            "has_custody", "is_suspect",
        ]  # fmt: skip


class HouseholdAddressSerializer(serializers.Serializer):
    street = StrictCharField(source="household_street", max_length=200, allow_blank=True, required=False)
    house_number = StrictCharField(source="household_house_number", max_length=20, allow_blank=True, required=False)
    postcode = PostcodeSerializerField(
        source="household_postcode",
        max_length=5,
        allow_blank=True,
        required=False,
        validators=[ascii_postcode_validator],  # stricter than the model's, which lets ４ pass
    )
    city = StrictCharField(source="household_city", max_length=100, allow_blank=True, required=False)


def _choice_list(choices):
    return serializers.ListField(child=serializers.ChoiceField(choices=choices.choices), required=False, max_length=20)


class ReferralWriteSerializer(StrictModelSerializer):
    """The referral as police file it. Every field may be left open in a draft (``draft: true``);
    a submission must be complete (checked by the service, answered as field errors)."""

    concerns = _choice_list(Concern)
    police_measures = _choice_list(PoliceMeasure)
    risk_factors = _choice_list(RiskFactor)
    household_address = HouseholdAddressSerializer(source="*", required=False)
    children = ChildSerializer(many=True, required=False, max_length=20)
    persons = PersonSerializer(many=True, required=False, max_length=30)
    draft = serializers.BooleanField(required=False, default=False, write_only=True)

    class Meta:
        model = Referral
        fields = [
            "police_case_number", "incident_at", "incident_location", "callout_reason", "urgency", "concerns",
            "facts_observed", "facts_reported", "children_present", "injuries", "home_condition", "police_measures",
            "residence_ban_until", "household_address", "children", "persons", "risk_factors", "risk_notes",
            "parents_informed", "parents_not_informed_reason", "callback_phone", "draft",
        ]  # fmt: skip
        extra_kwargs = {"parents_informed": {"allow_null": True}}

    def validate_incident_at(self, value):
        plausible_incident_at(value)
        return value


class ReferralDraftSerializer(ReferralWriteSerializer):
    """A draft completed over the API (``PUT``): the whole referral as for filing, ``draft: false`` to
    submit it, and the ``version`` the client read (409 if the draft was saved since)."""

    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="The draft's current version.")

    class Meta(ReferralWriteSerializer.Meta):
        fields = [*ReferralWriteSerializer.Meta.fields, "version"]


class AssigneeMixin(serializers.Serializer):
    """``assignee``: the caseworker, to the people of the case's offices only. Police learn the contact
    person from the coded feedback, by full name or else the office — never a user name
    (docs/domain.md, "Rückmeldung an die Polizei"); QA of 2026-12-05 found the name in the API."""

    assignee = serializers.SerializerMethodField()

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_assignee(self, referral):
        if referral.assignee_id is None or not of_the_case_offices(self.context, referral):
            return None
        return UserRefSerializer(referral.assignee).data


def of_the_case_offices(context, referral) -> bool:
    """Whether the requester is a person of the referral's offices (responsible, or offered it)."""
    request = context.get("request")
    offices = actor_of(request.user).office_ids if request is not None else set()
    return bool(offices & {referral.youth_office_id, referral.forwarded_to_id})


class StatusMixin(serializers.Serializer):
    """``status``: to the people of the case's offices as it is; to anyone else (police, coordinators)
    the coded status, where the step of the office's work — screening, or the assessment that a
    screening "yes" opened — reads as ``acknowledged`` (README, docs/domain.md "Ersteinschätzung": police
    never learn the screening). QA of 2026-12-05 found ``in_assessment`` in the police API."""

    status = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.ChoiceField(
            choices=Status.choices,
            help_text="Outside the case's offices (police, coordinators) `in_assessment` reads as `acknowledged`.",
        )
    )
    def get_status(self, referral) -> str:
        if referral.status == Status.IN_ASSESSMENT and not of_the_case_offices(self.context, referral):
            return Status.ACKNOWLEDGED
        return referral.status


class OverdueMixin(serializers.Serializer):
    """``overdue``: the office missed its acknowledgement clock (``clocks.is_overdue``). The view puts
    one ``now`` into the context so that every row of a page is judged at the same instant."""

    overdue = serializers.SerializerMethodField()

    def get_overdue(self, referral) -> bool:
        return is_overdue(referral, self.context.get("now") or timezone.now())


class ReferralListSerializer(StatusMixin, AssigneeMixin, OverdueMixin, serializers.ModelSerializer):
    """What a list shows: codes and dates, no names and no facts."""

    youth_office = AgencyRefSerializer(read_only=True, allow_null=True)  # null: a draft, or in triage
    station = AgencyRefSerializer(read_only=True)
    urgency = serializers.ChoiceField(choices=Urgency.choices, allow_blank=True, read_only=True)  # "": a draft

    class Meta:
        model = Referral
        fields = [
            "id", "reference", "status", "urgency", "concerns", "youth_office", "station", "triage_reason",
            "assignee", "due_at", "overdue", "created_at", "submitted_at",
        ]  # fmt: skip
        read_only_fields = fields


class HouseholdAddressReadSerializer(serializers.Serializer):
    street = serializers.CharField(source="household_street")
    house_number = serializers.CharField(source="household_house_number")
    postcode = serializers.CharField(source="household_postcode")
    city = serializers.CharField(source="household_city")


class ReferralTriageSerializer(ReferralListSerializer):
    """The district coordinator's view of a triaged referral: enough to route it, no case contents."""

    household_address = HouseholdAddressReadSerializer(source="*", read_only=True)

    class Meta(ReferralListSerializer.Meta):
        fields = [*ReferralListSerializer.Meta.fields, "triage_detail", "household_address"]
        read_only_fields = fields


class ReferralDetailSerializer(StatusMixin, AssigneeMixin, OverdueMixin, ReferralWriteSerializer):
    """Everything police filed, with status, routing and the state of the casework (who works on
    it, by when the office has to acknowledge it). Never the office's assessment, notes or files."""

    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True)
    urgency = serializers.ChoiceField(choices=Urgency.choices, allow_blank=True, read_only=True)  # "": a draft
    youth_office = AgencyRefSerializer(read_only=True, allow_null=True)  # null: a draft, or in triage
    station = AgencyRefSerializer(read_only=True)
    forwarded_to = AgencyRefSerializer(read_only=True, allow_null=True)
    household_address = HouseholdAddressReadSerializer(source="*", read_only=True)

    class Meta(ReferralWriteSerializer.Meta):
        fields = [
            "id", "reference", "status", "youth_office", "assignee", "due_at", "overdue", "forwarded_to",
            "triage_reason", "triage_detail", "station", "version", "created_at", "submitted_at",
            *[f for f in ReferralWriteSerializer.Meta.fields if f != "draft"],
        ]  # fmt: skip
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("draft", None)
        return fields


class PoliceFeedbackContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class PoliceFeedbackSerializer(serializers.Serializer):
    """The coded feedback to police (Rückmeldung): a status code, the office, the contact person."""

    code = serializers.ChoiceField(
        choices=[
            FeedbackCode.SUBMITTED,
            FeedbackCode.TRIAGE,
            FeedbackCode.RECEIVED,
            FeedbackCode.IN_PROGRESS,
            FeedbackCode.FORWARDED,
            FeedbackCode.CLOSED,
            FeedbackCode.HANDED_OVER,
        ]
    )
    office = AgencyRefSerializer(allow_null=True, help_text="The responsible office, or the one it was forwarded to.")
    handed_over_to = serializers.CharField(
        required=False, help_text="With `handed_over`: the office outside the system the referral was handed over to."
    )
    contact = PoliceFeedbackContactSerializer(allow_null=True)


class ReferralPoliceDetailSerializer(ReferralDetailSerializer):
    """The detail as police see their own referral: as filed, plus the coded ``feedback``."""

    feedback = serializers.SerializerMethodField()

    class Meta(ReferralDetailSerializer.Meta):
        fields = [*ReferralDetailSerializer.Meta.fields, "feedback"]
        read_only_fields = fields

    @extend_schema_field(PoliceFeedbackSerializer(allow_null=True))
    def get_feedback(self, referral):
        return police_feedback(referral)


class AssignOfficeSerializer(serializers.Serializer):
    youth_office = IdField(queryset=Agency.objects.youth_offices())


# --- Casework -------------------------------------------------------------------------------------


class ReferralVersionSerializer(serializers.Serializer):
    """Optimistic locking: the ``version`` the client read (or send it as ``If-Match: "<version>"``).
    A mismatch answers 409 (body) or 412 (header) and changes nothing."""

    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version the client read; optional (see also If-Match)."
    )


def _reason():
    return StrictCharField(max_length=REASON_LIMIT, help_text="Written reason, recorded in the timeline.")


class AssignSerializer(ReferralVersionSerializer):
    assignee = serializers.IntegerField(min_value=1, help_text="Id of a person of the responsible youth office.")


class RerateSerializer(ReferralVersionSerializer):
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    reason = _reason()


class ForwardSerializer(ReferralVersionSerializer):
    to_office = IdField(queryset=Agency.objects.youth_offices(), help_text="Id of another active youth office.")
    reason = _reason()


class ReferralReasonSerializer(ReferralVersionSerializer):
    reason = _reason()


class ReferralExportSerializer(ReferralVersionSerializer):
    recipient = StrictCharField(max_length=300, help_text="The office outside the system that takes the case over.")


class AssessmentInputSerializer(ReferralVersionSerializer):
    """A § 8a risk assessment as recorded (or revised, while not signed off)."""

    summary = StrictCharField(max_length=TEXT_LIMIT)
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        required=False,
        help_text="One outcome for the whole referral: only without `children` (the old way); with them the "
        "most severe child's result.",
    )
    measures = serializers.ListField(
        child=serializers.ChoiceField(choices=Measure.choices), allow_empty=False, max_length=len(Measure.choices)
    )
    home_visit_on = DateField(required=False, allow_null=True, help_text="Date of the home visit, if any.")
    child_seen = serializers.BooleanField(required=False, default=False)
    # Issue 13 §2: one part per child of the referral, and the shared parts.
    children = AssessmentChildInputSerializer(many=True, required=False, help_text="One part per child.")
    impressions = impressions_field()
    professionals = professionals_field()

    def validate(self, attrs):
        if "children" not in attrs and not attrs.get("outcome"):
            raise serializers.ValidationError(
                {"children": [_("Give one part per child (or, the old way, `outcome`).")]}
            )
        if "children" in attrs:
            attrs.pop("outcome", None)
            attrs["children"] = [dict(part) for part in attrs["children"]]
        return attrs


class AssessmentSerializer(ModelSerializer):
    author = UserRefSerializer(read_only=True)
    children = AssessmentChildSerializer(source="child_parts", many=True, read_only=True)
    versions = AssessmentVersionSerializer(many=True, read_only=True, help_text="Every saved version, newest first.")
    signed_off_by = UserRefSerializer(read_only=True, allow_null=True)
    home_visit = serializers.BooleanField(read_only=True)
    is_complete = serializers.BooleanField(read_only=True, help_text="Signed off by a second professional.")
    referral_version = serializers.IntegerField(
        source="referral.version", read_only=True, help_text="The referral's version after this change."
    )

    class Meta:
        model = Assessment
        fields = [
            "id", "summary", "outcome", "measures", "home_visit", "home_visit_on", "child_seen", "author",
            "created_at", "updated_at", "signed_off_by", "signed_off_at", "is_complete", "referral_version",
            "impressions", "professionals", "revision", "children", "versions",
        ]  # fmt: skip
        read_only_fields = fields


class FollowUpInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=TEXT_LIMIT)
    incident_at = DateTimeField(
        required=False,
        allow_null=True,
        help_text="Date and time of a new incident.",
        validators=[plausible_incident_at],
    )


class FollowUpSerializer(ModelSerializer):
    author = UserRefSerializer(read_only=True)

    class Meta:
        model = FollowUp
        fields = ["id", "text", "incident_at", "author", "created_at"]
        read_only_fields = fields


class NoteInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=TEXT_LIMIT)
    confidential = serializers.BooleanField(
        required=False, default=False, help_text="Confided under § 65 SGB VIII: never forwarded or exported."
    )


class NoteSerializer(ModelSerializer):
    author = UserRefSerializer(read_only=True)
    office = AgencyRefSerializer(read_only=True)

    class Meta:
        model = Note
        fields = ["id", "text", "confidential", "author", "office", "created_at"]
        read_only_fields = fields


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, PNG or JPEG; the type is checked from the content.")
    confidential = serializers.BooleanField(
        required=False, default=False, help_text="Confided under § 65 SGB VIII: never forwarded or exported."
    )
    followup = serializers.IntegerField(
        required=False, allow_null=True, help_text="Police only: the follow-up of this referral the file belongs to."
    )


class AttachmentSerializer(ModelSerializer):
    uploaded_by = UserRefSerializer(read_only=True)
    office = AgencyRefSerializer(read_only=True)

    class Meta:
        model = Attachment
        fields = [
            "id", "original_name", "content_type", "size", "confidential", "uploaded_by", "office", "followup",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class TimelineEventSerializer(ModelSerializer):
    """One entry of the history; ``data`` holds codes, ids and written reasons, no case contents."""

    actor = UserRefSerializer(read_only=True, allow_null=True)
    # The referral's own events and, merged in, the questions to the police (referrals.dialogue_models).
    kind = serializers.ChoiceField(choices=[*ReferralEvent.Kind.choices, *EVENT_LABELS.items()], read_only=True)
    label = serializers.SerializerMethodField()
    data = serializers.JSONField(read_only=True)

    def get_label(self, event) -> str:
        return event_label(event)

    class Meta:
        model = ReferralEvent
        fields = ["id", "kind", "label", "actor", "at", "data"]
        read_only_fields = fields


class VersionConflictSerializer(ErrorSerializer):
    version = serializers.IntegerField(help_text="The referral's current version.")


class ReferralFiledSerializer(ReferralDetailSerializer):
    """The answer to filing: the referral, and warnings that do not stop it."""

    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ReferralDetailSerializer.Meta):
        fields = [*ReferralDetailSerializer.Meta.fields, "warnings"]
