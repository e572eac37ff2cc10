"""API representations of referrals. Writes go through ``referrals.services``; these classes only
parse and render."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from agencies.models import Agency

from ..models import Child, Concern, Person, PoliceMeasure, Referral, RiskFactor, Status


class StrictCharField(serializers.CharField):
    """A text field that refuses numbers, booleans, lists and objects instead of converting them."""

    default_error_messages = {"invalid": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


class ChildSerializer(StrictModelSerializer):
    class Meta:
        model = Child
        fields = [
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "whereabouts",
            "school_or_kita",
            "address_if_different",
        ]


class PersonSerializer(StrictModelSerializer):
    class Meta:
        model = Person
        fields = [
            "role", "first_name", "last_name", "date_of_birth", "phone", "address", "relation_to_child",
            "has_custody", "is_suspect",
        ]  # fmt: skip


class HouseholdAddressSerializer(serializers.Serializer):
    street = StrictCharField(source="household_street", max_length=200, allow_blank=True, required=False)
    house_number = StrictCharField(source="household_house_number", max_length=20, allow_blank=True, required=False)
    postcode = StrictCharField(
        source="household_postcode",
        max_length=5,
        allow_blank=True,
        required=False,
        validators=Referral._meta.get_field("household_postcode").validators,
    )
    city = StrictCharField(source="household_city", max_length=100, allow_blank=True, required=False)


class AgencyRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = ["id", "name"]


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
            "household_address", "children", "persons", "risk_factors", "risk_notes", "parents_informed",
            "parents_not_informed_reason", "callback_phone", "draft",
        ]  # fmt: skip
        extra_kwargs = {"parents_informed": {"allow_null": True}}


class ReferralListSerializer(serializers.ModelSerializer):
    """What a list shows: codes and dates, no names and no facts."""

    youth_office = AgencyRefSerializer(read_only=True)
    station = AgencyRefSerializer(read_only=True)

    class Meta:
        model = Referral
        fields = [
            "id", "reference", "status", "urgency", "concerns", "youth_office", "station", "triage_reason",
            "created_at", "submitted_at",
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


class ReferralDetailSerializer(ReferralWriteSerializer):
    """Everything police filed, with status and routing."""

    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    youth_office = AgencyRefSerializer(read_only=True)
    station = AgencyRefSerializer(read_only=True)
    household_address = HouseholdAddressReadSerializer(source="*", read_only=True)

    class Meta(ReferralWriteSerializer.Meta):
        fields = [
            "id", "reference", "status", "youth_office", "triage_reason", "triage_detail", "station", "version",
            "created_at", "submitted_at",
            *[f for f in ReferralWriteSerializer.Meta.fields if f != "draft"],
        ]  # fmt: skip
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("draft", None)
        return fields


class AssignOfficeSerializer(serializers.Serializer):
    youth_office = serializers.PrimaryKeyRelatedField(queryset=Agency.objects.youth_offices())
