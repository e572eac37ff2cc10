"""The screening (Ersteinschätzung) endpoints of the referral API (issue 13 §1; docs/domain.md,
"Ersteinschätzung"): ``GET/POST /api/v1/referrals/{id}/screening/`` and
``POST /api/v1/referrals/{id}/screening/sign-off/``. A mixin of ``ReferralViewSet``: the referral comes
from the caller's scope (404 outside; the screening is casework, so also 404 to police, the district
coordinator and individual grants); the services decide the rest (403 wrong role or the author signing,
400 status or input, 409/412 outdated version)."""

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from core.serializers import ModelSerializer, StrictCharField, UserRefSerializer

from ..models import TEXT_LIMIT, AccessLogEntry
from ..screening import screening_save, screening_sign_off
from ..screening_models import NextStep, Screening, latest_screening
from .schema import ERROR_EXAMPLES, ERRORS, ETAG, IF_MATCH, PERSON, VERSION_ERRORS
from .serializers import ReferralVersionSerializer


class ScreeningInputSerializer(ReferralVersionSerializer):
    weighty_indications = serializers.BooleanField(
        help_text="Weighty indications of a risk to the child's welfare: true opens the § 8a assessment, false "
        "closes the case after a second professional's sign-off."
    )
    reason = StrictCharField(max_length=TEXT_LIMIT, help_text="Why; kept with the screening.")
    next_step = serializers.ChoiceField(
        choices=NextStep.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required without weighty indications, empty with them.",
    )


class ScreeningSerializer(ModelSerializer):
    author = UserRefSerializer(read_only=True)
    signed_off_by = UserRefSerializer(read_only=True, allow_null=True)
    is_complete = serializers.BooleanField(read_only=True, help_text="Signed off by a second professional.")
    referral_version = serializers.IntegerField(
        source="referral.version", read_only=True, help_text="The referral's version after this change."
    )
    next_step = serializers.ChoiceField(
        choices=NextStep.choices, allow_blank=True, read_only=True, help_text="Empty with weighty indications."
    )

    class Meta:
        model = Screening
        fields = [
            "id", "weighty_indications", "reason", "next_step", "author", "created_at", "signed_off_by",
            "signed_off_at", "is_complete", "referral_version",
        ]  # fmt: skip
        read_only_fields = fields


SCREENING_EXAMPLE = {
    "id": 3,
    "weighty_indications": False,
    "reason": "Einmaliger Streit ohne Gewalt; Kinder schliefen; Eltern nehmen Beratung an.",
    "next_step": "help_outside_8a",
    "author": PERSON,
    "created_at": "2026-11-25T10:00:00+01:00",
    "signed_off_by": None,
    "signed_off_at": None,
    "is_complete": False,
    "referral_version": 6,
}

SCREENING_SCHEMA = [
    extend_schema(
        methods=["GET"],
        summary="The latest screening (office only; 404 if none yet)",
        parameters=[ETAG],
        responses={200: ScreeningSerializer, 404: ERRORS[404]},
        examples=[OpenApiExample("Awaiting sign-off", value=SCREENING_EXAMPLE, response_only=True)],
    ),
    extend_schema(
        methods=["POST"],
        summary="Record the screening (Ersteinschätzung) of an acknowledged case (office only)",
        description="`weighty_indications: true` moves the referral to `in_assessment` (the § 8a assessment "
        "follows); `false` needs `next_step` and waits for the sign-off of a second professional of the office, "
        "which closes the case. Recording again replaces an unsigned screening; police learn only the status.",
        request=ScreeningInputSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: ScreeningSerializer, **ERRORS, **VERSION_ERRORS},
        examples=[
            OpenApiExample(
                "Request",
                value={k: SCREENING_EXAMPLE[k] for k in ("weighty_indications", "reason", "next_step")}
                | {"version": 5},
                request_only=True,
            ),
            OpenApiExample("Recorded", value=SCREENING_EXAMPLE, response_only=True, status_codes=["200"]),
            *ERROR_EXAMPLES,
        ],
    ),
]

SCREENING_SIGN_OFF_SCHEMA = extend_schema(
    summary="Sign a screening without weighty indications off (four eyes); closes the case",
    description="A second professional of the same office — not the author (403) — signs it off; the case is "
    "closed without a § 8a assessment and produces no statistics record. 400 if no such screening waits.",
    request=ReferralVersionSerializer,
    parameters=[IF_MATCH, ETAG],
    responses={200: ScreeningSerializer, **ERRORS, **VERSION_ERRORS},
    examples=[OpenApiExample("Request", value={"version": 6}, request_only=True), *ERROR_EXAMPLES],
)


class ScreeningActions:
    """The screening actions of ``ReferralViewSet`` (which provides ``_referral``, ``_input`` and
    ``_log_read``)."""

    def _screening_response(self, screening):
        response = Response(ScreeningSerializer(screening).data)
        response["ETag"] = f'"{screening.referral.version}"'
        return response

    @SCREENING_SCHEMA[0]
    @SCREENING_SCHEMA[1]
    @action(detail=True, methods=["get", "post"])
    def screening(self, request, pk=None):
        referral = self._referral(pk, office_only=True).referral
        if request.method == "GET":
            current = latest_screening(referral)
            if current is None:
                raise Http404
            # Part of the office's § 8a casework: logged as a read of the assessment.
            self._log_read(referral, AccessLogEntry.ObjectType.ASSESSMENT, current.pk)
            return self._screening_response(current)
        data, version = self._input(request, ScreeningInputSerializer)
        screening = screening_save(referral=referral, user=request.user, expected_version=version, **data)
        return self._screening_response(screening)

    @SCREENING_SIGN_OFF_SCHEMA
    @action(detail=True, methods=["post"], url_path="screening/sign-off", url_name="screening-sign-off")
    def screening_sign_off(self, request, pk=None):
        referral = self._referral(pk).referral
        _data, version = self._input(request, ReferralVersionSerializer)
        screening = screening_sign_off(referral=referral, user=request.user, expected_version=version)
        return self._screening_response(screening)
