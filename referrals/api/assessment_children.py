"""The per-child parts of the assessment in the API (issue 13 §2): ``children: [{child, result, kinds,
danger_from, …}]`` in ``POST /api/v1/referrals/{id}/assessment/`` and in its answer, with the
assessment's versions. Codes: docs/statistik-8a.md."""

from rest_framework import serializers

from core.serializers import ModelSerializer, UserRefSerializer

from ..assessment_models import (
    HELP_BEFORE,
    HELP_NEW,
    AssessmentChild,
    AssessmentVersion,
    DangerFrom,
    EndangermentKind,
    Impression,
    Residence,
    YesNoUnknown,
)
from ..models import Outcome


def _codes(choices, help_text=""):
    return serializers.ListField(
        child=serializers.ChoiceField(choices=choices), required=False, default=list, help_text=help_text
    )


class AssessmentChildInputSerializer(serializers.Serializer):
    child = serializers.IntegerField(help_text="The id of a child of the referral (as in the referral's `children`).")
    result = serializers.ChoiceField(choices=Outcome.choices)
    kinds = _codes(EndangermentKind.choices, "For acute or latent endangerment: one or more; else empty.")
    danger_from = _codes(DangerFrom.choices, "For acute or latent endangerment: from whom the danger mainly comes.")
    residence = serializers.ChoiceField(choices=Residence.choices, help_text="Where the child lived at the referral.")
    foreign_origin = serializers.ChoiceField(choices=YesNoUnknown.choices)
    german_spoken = serializers.BooleanField(help_text="German mainly spoken in the family.")
    help_before = _codes([(h.value, h.label) for h in HELP_BEFORE], "Help received at the time, or `none`.")
    help_new = _codes([(h.value, h.label) for h in HELP_NEW], "Help newly started, or `none`.")
    birth_month = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=12, help_text="Only if police gave no date of birth."
    )
    birth_year = serializers.IntegerField(
        required=False, allow_null=True, min_value=1900, max_value=2100, help_text="Only if police gave no birth date."
    )


class AssessmentChildSerializer(ModelSerializer):
    class Meta:
        model = AssessmentChild
        fields = [
            "child", "result", "kinds", "danger_from", "residence", "foreign_origin", "german_spoken", "help_before",
            "help_new", "birth_month", "birth_year",
        ]  # fmt: skip
        read_only_fields = fields


class AssessmentVersionSerializer(ModelSerializer):
    author = UserRefSerializer(read_only=True)

    class Meta:
        model = AssessmentVersion
        fields = ["number", "author", "written_at", "data"]
        read_only_fields = fields


def impressions_field():
    return _codes(Impression.choices, "How the office gained a direct impression of the child.")


def professionals_field():
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        default=list,
        help_text="Ids of the people of the office who took part (at least two, with `children`).",
    )
