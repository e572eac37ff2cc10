"""The referral API. Scoping: every object comes from ``Referral.objects.visible_to``; writes go
through ``referrals.services``."""

import re
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from agencies.actor import actor_of
from agencies.models import POLICE_ROLES
from config.api import LimitedMultiPartParser, VersionConflict
from core.idempotency import IdempotentPostMixin

from ..access import ReferralAccess, referral_access, referral_for
from ..access_log import access_log_record, entry_row, references_of, referral_access_log
from ..models import AccessLogEntry, Child, Person, Referral, Status, Urgency
from ..pagination import KeysetPagination
from ..selectors import (
    LIST_RELATED,
    attachments_for,
    notes_for,
    timeline_for,
    triage_queue_for,
)
from ..services import (
    Conflict,
    assessment_save,
    assessment_sign_off,
    attachment_add,
    followup_add,
    note_add,
    referral_accept,
    referral_acknowledge,
    referral_assign,
    referral_assign_office,
    referral_case_number_warnings,
    referral_close,
    referral_export,
    referral_forward,
    referral_reopen,
    referral_rerate,
    referral_return,
    referral_save,
)
from .serializers import (
    AssessmentInputSerializer,
    AssessmentSerializer,
    AssignOfficeSerializer,
    AssignSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    ErrorSerializer,
    FollowUpInputSerializer,
    FollowUpSerializer,
    ForwardSerializer,
    NoteInputSerializer,
    NoteSerializer,
    ReferralDetailSerializer,
    ReferralExportSerializer,
    ReferralListSerializer,
    ReferralPoliceDetailSerializer,
    ReferralReasonSerializer,
    ReferralTriageSerializer,
    ReferralVersionSerializer,
    ReferralWriteSerializer,
    RerateSerializer,
    TimelineEventSerializer,
    VersionConflictSerializer,
)

API_ORDERING = ["-created_at", "-id"]


class ReferralFiledSerializer(ReferralDetailSerializer):
    """The answer to filing: the referral, and warnings that do not stop it."""

    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ReferralDetailSerializer.Meta):
        fields = [*ReferralDetailSerializer.Meta.fields, "warnings"]


def nest_errors(flat: dict) -> dict:
    """``{"children.0.last_name": [...]}`` → ``{"children": [{"last_name": [...]}]}``: the same shape
    as DRF's own nested errors, so a client reads one format whichever check found the problem."""
    nested: dict = {}
    for path, messages in flat.items():
        *parents, leaf = path.split(".")
        node = nested
        for part in parents:
            child = node.setdefault(part, {})
            if isinstance(child, list):  # list-level messages already there: keep them beside
                child = node[part] = {"non_field_errors": child}
            node = child
        if isinstance(node.get(leaf), dict):
            node[leaf].setdefault("non_field_errors", []).extend(messages)
        else:
            node.setdefault(leaf, []).extend(messages)
    return _lists(nested)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        items = [{} for _ in range(max(int(k) for k in node) + 1)]
        for key, value in node.items():
            items[int(key)] = _lists(value)
        return items
    return {key: _lists(value) for key, value in node.items()}


REFERRAL_EXAMPLE = {
    "police_case_number": "ME-2026-123456",
    "incident_at": "2026-11-24T22:40:00+01:00",
    "incident_location": "Wohnung der Familie",
    "urgency": "urgent",
    "concerns": ["domestic_violence"],
    "facts_observed": "Streit, zerbrochenes Geschirr, Kind weinend im Flur.",
    "facts_reported": "Nachbarin berichtet von wiederholtem Streit.",
    "children_present": "witnessed",
    "police_measures": ["residence_ban"],
    "household_address": {"street": "Mittelstraße", "house_number": "12", "postcode": "40723", "city": "Hilden"},
    "children": [{"first_name": "Mia", "last_name": "Muster", "date_of_birth": "2019-04-02", "sex": "female"}],
    "persons": [
        {"role": "father", "first_name": "Tom", "last_name": "Muster", "has_custody": True, "is_suspect": True}
    ],
    "risk_factors": ["alcohol"],
    "parents_informed": True,
    "callback_phone": "02103 898-6410",
}


# --- Casework: concurrency, error translation, who reads what -------------------------------------

_ETAG = re.compile(r'^(?:"(\d{1,9})"|(\d{1,9}))$')


def expected_version(request, body_version: int | None) -> tuple[int | None, bool]:
    """The version the client read, and whether it came as a precondition header.

    ``If-Match: "<version>"`` (the ``ETag`` of the detail; a mismatch answers 412) wins over
    ``version`` in the body (a mismatch answers 409); ``If-Match: *`` and neither mean "don't check".
    """
    header = request.headers.get("If-Match")
    if header is None:
        return body_version, False
    header = header.strip()
    if header == "*":
        return None, True
    match = _ETAG.match(header)
    if match is None:
        raise ValidationError({"If-Match": ['Send the version you read as an entity tag, e.g. If-Match: "3".']})
    return int(match.group(1) or match.group(2)), True


@contextmanager
def service_errors(*, precondition: bool = False):
    """A service's refusals as API answers: ``ValidationError`` → 400 with field paths,
    ``PermissionDenied`` → 403 (the caller sees the referral but lacks the right), ``Conflict`` →
    409, or 412 when the client's version came in ``If-Match``."""
    try:
        yield
    except Conflict as exc:
        raise VersionConflict(str(exc), version=exc.current_version, precondition=precondition) from None
    except DjangoValidationError as exc:
        raise ValidationError(nest_errors(exc.message_dict) if hasattr(exc, "error_dict") else exc.messages) from None
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from None


def detail_serializer_for(access: ReferralAccess):
    """What the caller reads: the triage summary (district coordinator), the referral as filed with
    the coded feedback (police), or the referral with its casework (offices, grants)."""
    if not access.reads_contents:
        return ReferralTriageSerializer
    if access.reads_as_police:
        return ReferralPoliceDetailSerializer
    return ReferralDetailSerializer


def _assignee(user_id: int):
    assignee = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if assignee is None:
        # The same answer as for a person of another office: no telling which ids exist.
        raise ValidationError({"assignee": [_("Choose a person of the responsible youth office.")]})
    return assignee


ATTACHMENT_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


# --- OpenAPI --------------------------------------------------------------------------------------

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The version the client read, as the ETag of the detail (`"3"`). Outdated → 412, nothing '
    "changes. Alternatively send `version` in the body (outdated → 409).",
)
ETAG = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], description='The referral\'s version: `"3"`.'
)
DETAIL_RESPONSE = PolymorphicProxySerializer(
    component_name="ReferralDetailForCaller",
    serializers=[ReferralDetailSerializer, ReferralPoliceDetailSerializer, ReferralTriageSerializer],
    resource_type_field_name=None,
)
ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input, or not possible in the current status."),
    403: OpenApiResponse(ErrorSerializer, description="The caller sees the referral but lacks the right."),
    404: OpenApiResponse(ErrorSerializer, description="Outside the caller's scope, or nonexistent."),
}
VERSION_ERRORS = {
    409: OpenApiResponse(VersionConflictSerializer, description="`version` in the body is outdated; nothing changed."),
    412: OpenApiResponse(VersionConflictSerializer, description="`If-Match` is outdated; nothing changed."),
}
OFFICE = {"id": 21, "name": "Jugendamt Hilden"}
PERSON = {"id": 12, "name": "Anna Schmidt"}
DETAIL_EXAMPLE = {
    "id": 42,
    "reference": "KPB-ME-2026-00042",
    "status": "acknowledged",
    "youth_office": OFFICE,
    "assignee": PERSON,
    "due_at": "2026-11-25T22:40:00+01:00",
    "overdue": False,
    "forwarded_to": None,
    "triage_reason": "",
    "triage_detail": "",
    "station": {"id": 3, "name": "Polizeiwache Hilden"},
    "version": 4,
    "created_at": "2026-11-24T23:05:00+01:00",
    "submitted_at": "2026-11-24T23:10:00+01:00",
    **REFERRAL_EXAMPLE,
}
ASSESSMENT_EXAMPLE = {
    "id": 5,
    "summary": "Hausbesuch mit zwei Fachkräften; Kind unverletzt, Mutter kooperativ.",
    "outcome": "support_need",
    "measures": ["offer_of_help"],
    "home_visit": True,
    "home_visit_on": "2026-11-26",
    "child_seen": True,
    "author": PERSON,
    "created_at": "2026-11-26T15:00:00+01:00",
    "updated_at": "2026-11-26T15:00:00+01:00",
    "signed_off_by": None,
    "signed_off_at": None,
    "is_complete": False,
    "referral_version": 6,
}
ASSESSMENT_INPUT = ("summary", "outcome", "measures", "home_visit_on", "child_seen")
ERROR_EXAMPLES = [
    OpenApiExample(
        "Outdated version",
        value={"detail": "This referral was changed…", "version": 5},
        response_only=True,
        status_codes=["409", "412"],
    ),
]


def _detail_example(name="Updated referral", **changes):
    return OpenApiExample(name, value={**DETAIL_EXAMPLE, **changes}, response_only=True, status_codes=["200"])


def transition_schema(summary, description, request, request_example, response_example, *, extra=None):
    """A POST action that changes the referral and answers with its new detail."""
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        parameters=[IF_MATCH, ETAG],
        responses={200: ReferralDetailSerializer, **(extra or {}), **ERRORS, **VERSION_ERRORS},
        examples=[
            OpenApiExample("Request", value=request_example, request_only=True),
            response_example,
            *ERROR_EXAMPLES,
        ],
    )


@extend_schema_view(
    list=extend_schema(
        summary="Referrals visible to the caller",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Status.values),
            OpenApiParameter("urgency", OpenApiTypes.STR, enum=Urgency.values),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from `next`."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1–100, default 50."),
        ],
    ),
    retrieve=extend_schema(
        summary="One referral (404 outside the caller's scope)",
        description="Offices get the referral with the state of the casework; police get it as filed plus "
        "the coded `feedback`; the district coordinator gets a triage summary. `ETag` carries the version "
        "to send back in `If-Match`.",
        parameters=[ETAG],
        responses={200: DETAIL_RESPONSE, 404: ERRORS[404]},
        examples=[
            _detail_example("Office"),
            _detail_example(
                "Police",
                status="in_assessment",
                feedback={
                    "code": "in_progress",
                    "office": OFFICE,
                    "contact": {"name": "Anna Schmidt", "phone": "02103 72-0", "email": "jugendamt@hilden.de"},
                },
            ),
        ],
    ),
)
class ReferralViewSet(IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Referrals through ``Referral.objects.visible_to``: outside the caller's scope every endpoint
    answers 404. The casework endpoints (assessment, notes, attachments, timeline) answer 404 also to
    whoever sees the referral but does not work on it in an office (police, coordinators, individual
    grants); transitions the caller may not make inside their scope answer 403 (from the service)."""

    pagination_class = KeysetPagination
    keyset_ordering = API_ORDERING
    serializer_class = ReferralListSerializer

    def get_queryset(self):
        queryset = Referral.objects.visible_to(self.request.user).select_related(*LIST_RELATED)
        if self.action == "list":
            for name, allowed in (("status", Status.values), ("urgency", Urgency.values)):
                value = self.request.query_params.get(name)
                if value is not None:
                    if value not in allowed:
                        raise ValidationError({name: [f"Unknown value. Allowed: {', '.join(allowed)}"]})
                    queryset = queryset.filter(**{name: value})
        return queryset

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def perform_content_negotiation(self, request, force=False):
        # A download answers with the file's own type whatever the client accepts; errors in JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "attachment")

    def _referral(self, pk, *, office_only: bool = False, contents: bool = False) -> ReferralAccess:
        """The referral from the caller's scope, else 404. ``office_only``: the endpoint serves an
        office's casework — 404 unless the caller works in the responsible office or in the sending
        or receiving office of a hand-over. ``contents``: 404 unless the caller may read the case
        contents (not the district coordinator's triage summary)."""
        access = referral_for(self.request, pk, queryset=self.get_queryset())
        if (office_only and not access.works_on_case) or (contents and not access.reads_contents):
            access_log_record(request=self.request, action=AccessLogEntry.Action.DENIED, referral=access.referral)
            raise Http404
        return access

    def _log_read(self, referral, obj_type, obj_id=None, action=AccessLogEntry.Action.VIEW):
        access_log_record(request=self.request, action=action, referral=referral, obj_type=obj_type, obj_id=obj_id)

    def _detail_response(self, request, pk, *, gone_ok: bool = False):
        """The referral's detail as the caller may see it, with its version as ``ETag``. After a
        change that took the referral out of the caller's scope (a returned hand-over): 204."""
        referral = (
            self.get_queryset()
            .select_related("acknowledged_by")
            .prefetch_related(
                Prefetch("children", queryset=Child.objects.order_by("id")),
                Prefetch("persons", queryset=Person.objects.order_by("id")),
            )
            .filter(pk=pk)
            .first()
        )
        if referral is None:
            if gone_ok:
                return Response(status=status.HTTP_204_NO_CONTENT)
            raise Http404
        serializer_class = detail_serializer_for(referral_access(request.user, referral))
        response = Response(serializer_class(referral, context=self.get_serializer_context()).data)
        response["ETag"] = f'"{referral.version}"'
        return response

    def _validated(self, request, serializer_class) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _input(self, request, serializer_class):
        """The validated body without ``version``, the version the client read, and whether it
        came as ``If-Match``."""
        data = self._validated(request, serializer_class)
        version, precondition = expected_version(request, data.pop("version", None))
        return data, version, precondition

    def _transition(self, request, pk, service, serializer_class=ReferralVersionSerializer, **convert):
        referral = self._referral(pk).referral
        data, version, precondition = self._input(request, serializer_class)
        for name, function in convert.items():
            data[name] = function(data[name])
        with service_errors(precondition=precondition):
            service(referral=referral, user=request.user, expected_version=version, **data)
        return self._detail_response(request, pk, gone_ok=True)

    def retrieve(self, request, *args, **kwargs):
        self._log_read(self._referral(kwargs["pk"]).referral, AccessLogEntry.ObjectType.REFERRAL)
        return self._detail_response(request, kwargs["pk"])

    @extend_schema(
        summary="File a referral (police officers and police coordinators)",
        description="`warnings` lists what the filer should check but does not stop the filing, e.g. a police "
        "case number the authority already used (one operation can concern two households).",
        request=ReferralWriteSerializer,
        responses={201: ReferralFiledSerializer},
        examples=[OpenApiExample("Domestic violence, Hilden", value=REFERRAL_EXAMPLE, request_only=True)],
    )
    def create(self, request, *args, **kwargs):
        if not actor_of(request.user).has_role(*POLICE_ROLES):
            raise PermissionDenied("Only police officers and police coordinators file referrals.")
        serializer = ReferralWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        draft = data.pop("draft", False)
        children = [dict(c) for c in data.pop("children", [])]
        persons = [dict(p) for p in data.pop("persons", [])]
        try:
            # The answer is built before the commit: once the referral is committed, no query can fail
            # and turn its 201 into a 500 (a retry with the Idempotency-Key gets this very body).
            with transaction.atomic():
                referral = referral_save(
                    user=request.user, fields=data, children=children, persons=persons, submit=not draft
                )
                referral = Referral.objects.select_related(*LIST_RELATED).get(pk=referral.pk)
                referral.warnings = referral_case_number_warnings(referral=referral, user=request.user)
                body = ReferralFiledSerializer(referral, context=self.get_serializer_context()).data
        except DjangoValidationError as exc:
            raise ValidationError(nest_errors(exc.message_dict)) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Assign a triaged referral to a youth office (district coordinator)",
        request=AssignOfficeSerializer,
        responses={200: ReferralListSerializer},
        examples=[
            OpenApiExample("Request", value={"youth_office": 27}, request_only=True),
            OpenApiExample(
                "Assigned",
                value={
                    "id": 42,
                    "reference": "KPB-ME-2026-00042",
                    "status": "submitted",
                    "urgency": "urgent",
                    "concerns": ["domestic_violence"],
                    "youth_office": {"id": 27, "name": "Jugendamt Ratingen"},
                    "station": {"id": 3, "name": "Polizeiwache Hilden"},
                    "triage_reason": "shared_postcode",
                    "assignee": None,
                    "due_at": "2026-11-25T23:10:00+01:00",
                    "overdue": False,
                    "created_at": "2026-11-24T23:05:00+01:00",
                    "submitted_at": "2026-11-24T23:10:00+01:00",
                },
                response_only=True,
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="assign-office")
    def assign_office(self, request, pk=None):
        referral = get_object_or_404(triage_queue_for(request.user), pk=pk)
        serializer = AssignOfficeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            referral = referral_assign_office(
                referral=referral, user=request.user, office=serializer.validated_data["youth_office"]
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(ReferralListSerializer(referral, context=self.get_serializer_context()).data)

    # --- transitions (§ 8a SGB VIII) -------------------------------------------------------------

    @transition_schema(
        "Acknowledge receipt (responsible office)",
        "Police learn which office and contact person are responsible. Only from `submitted`.",
        ReferralVersionSerializer,
        {"version": 3},
        _detail_example(status="acknowledged", assignee=None),
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, pk, referral_acknowledge)

    @transition_schema(
        "Assign a caseworker",
        "The office lead assigns (or reassigns) anyone of the office; a caseworker may take an unassigned "
        "case for themselves (assigning someone else: 403). A person of another office: 400.",
        AssignSerializer,
        {"assignee": 12, "version": 4},
        _detail_example(version=5),
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        return self._transition(request, pk, referral_assign, AssignSerializer, assignee=_assignee)

    @transition_schema(
        "Re-rate the urgency (with a written reason)",
        "Recomputes the acknowledgement clock (`due_at`) while the referral is not yet acknowledged.",
        RerateSerializer,
        {"urgency": "immediate", "reason": "Neue Erkenntnisse: Kind allein in der Wohnung.", "version": 3},
        _detail_example(status="submitted", urgency="immediate", due_at="2026-11-24T00:10:00+01:00", version=4),
    )
    @action(detail=True, methods=["post"])
    def rerate(self, request, pk=None):
        return self._transition(request, pk, referral_rerate, RerateSerializer)

    @transition_schema(
        "Forward to another youth office (Abgabe, § 8a Abs. 6 SGB VIII)",
        "Until the receiving office accepts or returns it, both offices see the case; the sender can no "
        "longer change it.",
        ForwardSerializer,
        {"to_office": 27, "reason": "Familie ist nach Velbert verzogen.", "version": 4},
        _detail_example(status="forwarded", forwarded_to={"id": 27, "name": "Jugendamt Velbert"}, version=5),
    )
    @action(detail=True, methods=["post"])
    def forward(self, request, pk=None):
        return self._transition(request, pk, referral_forward, ForwardSerializer)

    @transition_schema(
        "Accept a forwarded case (receiving office)",
        "Access moves entirely to the receiving office; accepting counts as its acknowledgement.",
        ReferralVersionSerializer,
        {"version": 5},
        _detail_example(youth_office={"id": 27, "name": "Jugendamt Velbert"}, assignee=None, version=6),
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._transition(request, pk, referral_accept)

    @transition_schema(
        "Return a forwarded case to the sender (receiving office, with a reason)",
        "The case goes back to the sending office in its previous status. The receiving office no longer "
        "sees it, so it gets 204 without a body.",
        ReferralReasonSerializer,
        {"reason": "Gewöhnlicher Aufenthalt weiterhin in Hilden.", "version": 5},
        _detail_example(version=6),
        extra={204: OpenApiResponse(description="Returned; the caller no longer sees the referral.")},
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        return self._transition(request, pk, referral_return, ReferralReasonSerializer)

    @transition_schema(
        "Close the case (after a signed-off risk assessment)",
        "400 while the latest assessment is not signed off by a second professional.",
        ReferralVersionSerializer,
        {"version": 8},
        _detail_example(status="closed", version=9),
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._transition(request, pk, referral_close)

    @transition_schema(
        "Reopen a closed case (office lead, with a reason)",
        "It needs a new signed-off assessment to be closed again.",
        ReferralReasonSerializer,
        {"reason": "Erneute Meldung der Schule.", "version": 9},
        _detail_example(status="in_assessment", version=10),
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._transition(request, pk, referral_reopen, ReferralReasonSerializer)

    @extend_schema(
        summary="Hand the referral over to an office outside the system (structured export)",
        description="The lead of the responsible office, or the district coordinator for a referral in "
        "triage. Answers the export as a JSON file (without data confided under § 65 SGB VIII), "
        "records who handed it to whom and when, and closes the referral here.",
        request=ReferralExportSerializer,
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
        examples=[
            OpenApiExample("To a youth office of another district", value={"recipient": "Jugendamt Düsseldorf"}),
            OpenApiExample(
                "Export",
                response_only=True,
                value={
                    "format": "kinderschutz-kooperation/referral-export/1",
                    "referral": {"reference": "KPB-ME-2026-00042", "urgency": "urgent"},
                    "children": [{"first_name": "Mia", "last_name": "Muster", "date_of_birth": "2019-04-02"}],
                    "persons": [],
                    "notes": [],
                    "attachments": [],
                    "handover": {
                        "recipient": "Jugendamt Düsseldorf",
                        "by": "kreis.koordination.mettmann",
                        "at": "2026-11-25T10:00:00+00:00",
                    },
                },
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def export(self, request, pk=None):
        referral = self._referral(pk).referral
        data, version, precondition = self._input(request, ReferralExportSerializer)
        with service_errors(precondition=precondition):
            document = referral_export(referral=referral, user=request.user, expected_version=version, **data)
        self._log_read(referral, AccessLogEntry.ObjectType.EXPORT, action=AccessLogEntry.Action.EXPORT)
        response = Response(document)
        response["Content-Disposition"] = f'attachment; filename="uebergabe-{referral.pk}.json"'
        return response

    # --- the § 8a risk assessment ----------------------------------------------------------------

    def _assessment_response(self, assessment, status_code=status.HTTP_200_OK):
        response = Response(AssessmentSerializer(assessment).data, status=status_code)
        response["ETag"] = f'"{assessment.referral.version}"'
        return response

    @extend_schema(
        methods=["GET"],
        summary="The current risk assessment (office only; 404 if none yet)",
        parameters=[ETAG],
        responses={200: AssessmentSerializer, 404: ERRORS[404]},
        examples=[OpenApiExample("Awaiting sign-off", value=ASSESSMENT_EXAMPLE, response_only=True)],
    )
    @extend_schema(
        methods=["POST"],
        summary="Record or revise the risk assessment (office only)",
        description="Moves the referral to `in_assessment`. Complete only after a second professional of "
        "the office signs it off; whoever revises it becomes its author.",
        request=AssessmentInputSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: AssessmentSerializer, **ERRORS, **VERSION_ERRORS},
        examples=[
            OpenApiExample(
                "Request",
                value={k: ASSESSMENT_EXAMPLE[k] for k in ASSESSMENT_INPUT} | {"version": 5},
                request_only=True,
            ),
            OpenApiExample("Recorded", value=ASSESSMENT_EXAMPLE, response_only=True, status_codes=["200"]),
            *ERROR_EXAMPLES,
        ],
    )
    @action(detail=True, methods=["get", "post"])
    def assessment(self, request, pk=None):
        referral = self._referral(pk, office_only=True).referral
        if request.method == "GET":
            current = (
                referral.assessments.select_related("author", "signed_off_by").order_by("-created_at", "-id").first()
            )
            if current is None:
                raise Http404
            self._log_read(referral, AccessLogEntry.ObjectType.ASSESSMENT, current.pk)
            return self._assessment_response(current)
        data, version, precondition = self._input(request, AssessmentInputSerializer)
        with service_errors(precondition=precondition):
            current = assessment_save(referral=referral, user=request.user, expected_version=version, **data)
        return self._assessment_response(current)

    @extend_schema(
        summary="Sign the risk assessment off (four eyes)",
        description="A second professional of the same office — not the author (403) — signs it off.",
        request=ReferralVersionSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: AssessmentSerializer, **ERRORS, **VERSION_ERRORS},
        examples=[
            OpenApiExample("Request", value={"version": 6}, request_only=True),
            OpenApiExample(
                "Signed off",
                value=ASSESSMENT_EXAMPLE
                | {
                    "signed_off_by": {"id": 14, "name": "Jonas Weber"},
                    "signed_off_at": "2026-11-27T09:30:00+01:00",
                    "is_complete": True,
                    "referral_version": 7,
                },
                response_only=True,
                status_codes=["200"],
            ),
            *ERROR_EXAMPLES,
        ],
    )
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, pk=None):
        referral = self._referral(pk).referral
        data, version, precondition = self._input(request, ReferralVersionSerializer)
        with service_errors(precondition=precondition):
            current = assessment_sign_off(referral=referral, user=request.user, expected_version=version)
        return self._assessment_response(current)

    # --- follow-ups, notes, attachments, timeline ------------------------------------------------

    @extend_schema(
        methods=["GET"],
        summary="Police follow-ups (Nachträge) of the referral",
        description="For everyone who may read the case contents (police of the referral, its offices).",
        responses={200: FollowUpSerializer(many=True), 404: ERRORS[404]},
        examples=[
            OpenApiExample(
                "Follow-ups",
                value=[
                    {
                        "id": 3,
                        "text": "Erneuter Einsatz, Vater trotz Rückkehrverbot in der Wohnung.",
                        "incident_at": "2026-11-28T21:15:00+01:00",
                        "author": {"id": 8, "name": "PK Meier"},
                        "created_at": "2026-11-28T22:00:00+01:00",
                    }
                ],
                response_only=True,
            )
        ],
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a follow-up (police of the filing station or authority)",
        description="Appears in the office's timeline and notifies the assignee. Others who see the referral: 403.",
        request=FollowUpInputSerializer,
        responses={201: FollowUpSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Request",
                value={
                    "text": "Erneuter Einsatz, Vater trotz Rückkehrverbot in der Wohnung.",
                    "incident_at": "2026-11-28T21:15:00+01:00",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Added",
                value={
                    "id": 3,
                    "text": "Erneuter Einsatz, Vater trotz Rückkehrverbot in der Wohnung.",
                    "incident_at": "2026-11-28T21:15:00+01:00",
                    "author": {"id": 8, "name": "PK Meier"},
                    "created_at": "2026-11-28T22:00:00+01:00",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def followups(self, request, pk=None):
        referral = self._referral(pk, contents=True).referral
        if request.method == "GET":
            followups = referral.followups.select_related("author").order_by("created_at", "id")
            self._log_read(referral, AccessLogEntry.ObjectType.FOLLOWUP)
            return Response(FollowUpSerializer(followups, many=True).data)
        data = self._validated(request, FollowUpInputSerializer)
        with service_errors():
            followup = followup_add(referral=referral, user=request.user, **data)
        return Response(FollowUpSerializer(followup).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="Internal notes (office only)",
        description="Notes confided under § 65 SGB VIII to another office are left out.",
        responses={200: NoteSerializer(many=True), 404: ERRORS[404]},
        examples=[
            OpenApiExample(
                "Notes",
                value=[
                    {
                        "id": 9,
                        "text": "Schule informiert, Rückruf erbeten.",
                        "confidential": False,
                        "author": PERSON,
                        "office": OFFICE,
                        "created_at": "2026-11-25T10:00:00+01:00",
                    }
                ],
                response_only=True,
            )
        ],
    )
    @extend_schema(
        methods=["POST"],
        summary="Add an internal note (responsible office)",
        request=NoteInputSerializer,
        responses={201: NoteSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Request", value={"text": "Mutter bittet um Vertraulichkeit.", "confidential": True}, request_only=True
            ),
            OpenApiExample(
                "Added",
                value={
                    "id": 10,
                    "text": "Mutter bittet um Vertraulichkeit.",
                    "confidential": True,
                    "author": PERSON,
                    "office": OFFICE,
                    "created_at": "2026-11-25T10:05:00+01:00",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def notes(self, request, pk=None):
        access = self._referral(pk, office_only=True)
        referral = access.referral
        if request.method == "GET":
            self._log_read(referral, AccessLogEntry.ObjectType.NOTE)
            return Response(NoteSerializer(notes_for(access), many=True).data)
        data = self._validated(request, NoteInputSerializer)
        with service_errors():
            note = note_add(referral=referral, user=request.user, **data)
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="Attachments (office only)",
        description="Files confided under § 65 SGB VIII to another office are left out.",
        responses={200: AttachmentSerializer(many=True), 404: ERRORS[404]},
        examples=[
            OpenApiExample(
                "Attachments",
                value=[
                    {
                        "id": 4,
                        "original_name": "Arztbericht.pdf",
                        "content_type": "application/pdf",
                        "size": 48213,
                        "confidential": False,
                        "uploaded_by": PERSON,
                        "office": OFFICE,
                        "created_at": "2026-11-26T16:00:00+01:00",
                    }
                ],
                response_only=True,
            )
        ],
    )
    @extend_schema(
        methods=["POST"],
        summary="Attach a PDF or image (responsible office)",
        description="Multipart upload. The type is checked from the content (PDF, PNG, JPEG); larger than "
        "the configured limit: 400.",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer, **ERRORS, 413: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Request",
                value={"file": "(binary)", "confidential": False},
                request_only=True,
                media_type="multipart/form-data",
            ),
            OpenApiExample(
                "Attached",
                value={
                    "id": 4,
                    "original_name": "Arztbericht.pdf",
                    "content_type": "application/pdf",
                    "size": 48213,
                    "confidential": False,
                    "uploaded_by": PERSON,
                    "office": OFFICE,
                    "created_at": "2026-11-26T16:00:00+01:00",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[LimitedMultiPartParser], pagination_class=None)
    def attachments(self, request, pk=None):
        access = self._referral(pk, office_only=True)
        referral = access.referral
        if request.method == "GET":
            self._log_read(referral, AccessLogEntry.ObjectType.ATTACHMENT)
            return Response(AttachmentSerializer(attachments_for(access), many=True).data)
        data = self._validated(request, AttachmentUploadSerializer)
        with service_errors():
            attachment = attachment_add(
                referral=referral, user=request.user, uploaded_file=data["file"], confidential=data["confidential"]
            )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download an attachment (office only)",
        description="Served as a download with a neutral file name (`anlage-<id>.pdf`), its checked content "
        "type, `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.",
        parameters=[OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            404: ERRORS[404],
        },
        examples=[
            OpenApiExample("Not found", value={"detail": "Not found."}, response_only=True, status_codes=["404"]),
        ],
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]+)", url_name="attachment")
    def attachment(self, request, pk=None, attachment_id=None):
        access = self._referral(pk, office_only=True)
        referral = access.referral
        attachment = get_object_or_404(attachments_for(access), pk=attachment_id)
        self._log_read(
            referral, AccessLogEntry.ObjectType.ATTACHMENT, attachment.pk, action=AccessLogEntry.Action.DOWNLOAD
        )
        extension = ATTACHMENT_EXTENSIONS.get(attachment.content_type, "bin")
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=f"anlage-{attachment.pk}.{extension}",
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @extend_schema(
        summary="The referral's history (office only)",
        description="Every event with who and when; `data` holds codes, ids and written reasons.",
        responses={200: TimelineEventSerializer(many=True), 404: ERRORS[404]},
        examples=[
            OpenApiExample(
                "Timeline",
                value=[
                    {
                        "id": 1,
                        "kind": "submitted",
                        "label": "Submitted and routed",
                        "actor": {"id": 8, "name": "PK Meier"},
                        "at": "2026-11-24T23:10:00+01:00",
                        "data": {"youth_office": 21},
                    },
                    {
                        "id": 2,
                        "kind": "acknowledged",
                        "label": "Receipt acknowledged",
                        "actor": PERSON,
                        "at": "2026-11-25T08:05:00+01:00",
                        "data": {},
                    },
                ],
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        access = self._referral(pk, office_only=True)
        self._log_read(access.referral, AccessLogEntry.ObjectType.TIMELINE)
        return Response(TimelineEventSerializer(timeline_for(access), many=True).data)

    @extend_schema(
        summary="Who viewed this referral (office lead and data protection officer of its office)",
        description="Every logged read of the referral and its parts, and every refused attempt, newest first "
        "(at most 1,000; the office's page /access-log/ filters and exports all): "
        "person, agency, role, action, object, time, request id and address — no content. 404 for everyone "
        "else, the same as for a nonexistent referral.",
        responses={200: OpenApiTypes.OBJECT, 404: ERRORS[404]},
        examples=[
            OpenApiExample(
                "Entries",
                response_only=True,
                value=[
                    {
                        "id": 17,
                        "at": "2026-11-25T08:04:00+01:00",
                        "person": PERSON,
                        "agency": OFFICE,
                        "role": "caseworker",
                        "action": "view",
                        "object_type": "referral",
                        "object_id": 42,
                        "referral_id": 42,
                        "reference": "KPB-ME-2026-00042",
                        "request_id": "5f0c1d8e-2a57-4a0e-9a57-0f5b8e7b9c11",
                        "address": "10.1.2.3",
                    }
                ],
            )
        ],
    )
    @action(detail=True, methods=["get"], url_path="access-log", url_name="access-log", pagination_class=None)
    def access_log(self, request, pk=None):
        # Not through ``visible_to``: the data protection officer reads the log of their office's
        # referrals without seeing the referrals themselves; nobody else gets past ``referral_access_log``.
        entries = referral_access_log(request.user, int(pk)) if str(pk).isdigit() and len(str(pk)) <= 18 else None
        if entries is None:
            raise Http404
        entries = list(entries.order_by("-at", "-id")[:1000])
        references = references_of(request.user, entries)
        return Response([entry_row(e, references) for e in entries])
