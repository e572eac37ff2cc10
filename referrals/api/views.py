"""The referral API. Scoping: every object comes from ``Referral.objects.visible_to``; writes go
through ``referrals.services``."""

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from agencies.actor import actor_of
from agencies.models import POLICE_ROLES
from config.api import LimitedMultiPartParser
from core.api import mark_precondition
from core.idempotency import IdempotentPostMixin
from core.pagination import KeysetPagination
from core.queries import one_or_none
from core.serializers import unknown_value
from core.storage import open_for_download

from ..access import ReferralAccess, referral_access, referral_for
from ..access_log import access_log_record, attachment_or_denied, entry_row, references_of, referral_access_log
from ..handover import referral_hand_over
from ..models import AccessLogEntry, Child, Person, Referral, Status, Urgency
from ..selectors import (
    LIST_RELATED,
    attachments_for,
    list_branches,
    notes_for,
    timeline_for,
    triage_queue_for,
    with_list_names,
)
from ..services import (
    CHILD_FIELDS,
    PERSON_FIELDS,
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
    referral_forward,
    referral_reopen,
    referral_rerate,
    referral_return,
    referral_save,
)
from .questions import police_attachment_upload
from .schema import referral_viewset_schema
from .screening import ScreeningActions
from .serializers import (
    AssessmentInputSerializer,
    AssessmentSerializer,
    AssignOfficeSerializer,
    AssignSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    FollowUpInputSerializer,
    FollowUpSerializer,
    ForwardSerializer,
    NoteInputSerializer,
    NoteSerializer,
    ReferralDetailSerializer,
    ReferralDraftSerializer,
    ReferralExportSerializer,
    ReferralFiledSerializer,
    ReferralListSerializer,
    ReferralPoliceDetailSerializer,
    ReferralReasonSerializer,
    ReferralTriageSerializer,
    ReferralVersionSerializer,
    ReferralWriteSerializer,
    RerateSerializer,
    TimelineEventSerializer,
)

API_ORDERING = ["-created_at", "-id"]
# The list's rows (issue 12: the row query within 3x of the bare indexed one): the columns
# ``ReferralListSerializer`` returns (``overdue`` reads due_at, acknowledged_at, status) and the
# ordering's; the names of the office, the station and the assignee are read after the page
# (``API_LIST_NAMES``, ``selectors.with_list_names``), not joined. A column left out here and read
# later costs one query per row: the query-count pins of tests/test_api.py catch it.
API_LIST_FIELDS = (
    "id", "reference", "status", "urgency", "concerns", "triage_reason", "due_at", "acknowledged_at",
    "created_at", "submitted_at", "youth_office", "station", "assignee",
    "forwarded_to",  # with youth_office: whose people read the assignee (serializers.AssigneeMixin)
)  # fmt: skip
API_LIST_NAMES = ("youth_office", "station", "assignee")


# --- Casework: concurrency, error translation, who reads what -------------------------------------

_ETAG = re.compile(r'^(?:"(\d{1,9})"|(\d{1,9}))$')


def status_filter(user, status: str) -> Q:
    """``?status=`` as the requester reads the status (``serializers.StatusMixin``): outside the case's
    offices ``in_assessment`` reads as ``acknowledged``, so that filter finds both there and
    ``in_assessment`` only referrals of the requester's own offices. For police and coordinators (no
    office) it is one comparison on the status column."""
    if status not in (Status.IN_ASSESSMENT, Status.ACKNOWLEDGED):
        return Q(status=status)
    offices = sorted(actor_of(user).office_ids)
    if not offices and status == Status.IN_ASSESSMENT:  # police and coordinators read only the coded status
        return Q(pk__in=[])
    if not offices:
        return Q(status__in=[Status.ACKNOWLEDGED, Status.IN_ASSESSMENT])
    own = Q(youth_office_id__in=offices) | Q(forwarded_to_id__in=offices)
    if status == Status.IN_ASSESSMENT:
        return Q(status=status) & own
    return Q(status=status) | (Q(status=Status.IN_ASSESSMENT) & ~own)


def expected_version(request, body_version: int | None) -> tuple[int | None, bool]:
    """The version the client read, and whether it came as a precondition header.

    ``If-Match: "<version>"`` (the ``ETag`` of the detail; a mismatch answers 412) wins over
    ``version`` in the body (a mismatch answers 409); ``If-Match: *`` and neither mean "don't check".
    """
    header = request.headers.get("If-Match")
    if header is None:
        return body_version, False
    mark_precondition(request)  # a stale version then answers 412 (core.api.exception_handler)
    header = header.strip()
    if header == "*":
        return None, True
    match = _ETAG.match(header)
    if match is None:
        raise ValidationError({"If-Match": [_('Send the version you read as an entity tag, e.g. If-Match: "3".')]})
    return int(match.group(1) or match.group(2)), True


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


# The household address is one object in the API (``household_address``) and four columns in the model:
# a refusal of the service names the API's path, as the serializer's own errors do.
HOUSEHOLD_PATHS = {
    f"household_{name}": f"household_address.{name}" for name in ("street", "house_number", "postcode", "city")
}


def _filed(**kwargs) -> Referral:
    """``referral_save`` with the refusal's field paths as the API names them."""
    try:
        return referral_save(**kwargs)
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise DjangoValidationError({HOUSEHOLD_PATHS.get(k, k): v for k, v in exc.message_dict.items()}) from None


def _rows(related) -> list[dict]:
    """The children or persons of a draft as ``referral_save`` takes them (kept when not sent)."""
    names = CHILD_FIELDS if related.model is Child else PERSON_FIELDS
    return [{name: getattr(row, name) for name in names} for row in related.order_by("id")]


@referral_viewset_schema
class ReferralViewSet(
    ScreeningActions, IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Referrals through ``Referral.objects.visible_to``: outside the caller's scope every endpoint
    answers 404. The casework endpoints (assessment, notes, attachments, timeline) answer 404 also to
    whoever sees the referral but does not work on it in an office (police, coordinators, individual
    grants); transitions the caller may not make inside their scope answer 403 (from the service)."""

    pagination_class = KeysetPagination
    keyset_ordering = API_ORDERING
    serializer_class = ReferralListSerializer

    def get_queryset(self, scope=None):
        """``scope``: one of ``list_branches`` instead of the whole scope (``keyset_branches``)."""
        queryset = Referral.objects.visible_to(self.request.user) if scope is None else scope
        if self.action != "list":
            return queryset.select_related(*LIST_RELATED)
        queryset = queryset.only(*API_LIST_FIELDS)  # the names: after the page (``paginate_queryset``)
        for name, allowed in (("status", Status.values), ("urgency", Urgency.values)):
            value = self.request.query_params.get(name)
            if value is not None:
                if value not in allowed:
                    raise ValidationError({name: [unknown_value(allowed)]})
                queryset = queryset.filter(
                    status_filter(self.request.user, value) if name == "status" else Q(urgency=value)
                )
        return queryset

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None and self.action == "list":
            with_list_names(page, API_LIST_NAMES)  # two lookups a page instead of three joins a row query
        return page

    def keyset_branches(self):
        """The list reads the scope branch by branch (``selectors.list_branches``): constant per page."""
        return [self.get_queryset(scope) for scope in list_branches(self.request.user)]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def perform_content_negotiation(self, request, force=False):
        # A download answers with the file's own type whatever the client accepts; errors in JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "attachment")

    def _referral(
        self, pk, *, office_only: bool = False, contents: bool = False, office_or_police: bool = False
    ) -> ReferralAccess:
        """The referral from the caller's scope, else 404. ``office_only``: the endpoint serves an
        office's casework — 404 unless the caller works in the responsible office or in the sending
        or receiving office of a hand-over. ``contents``: 404 unless the caller may read the case
        contents (not the district coordinator's triage summary). ``office_or_police``: 404 unless the
        caller works on the case in an office or is police of the referral (attachments, issue 14 §3)."""
        access = referral_for(self.request, pk, queryset=self.get_queryset())
        refused = (office_or_police and not (access.works_on_case or access.is_police)) or (
            office_only and not access.works_on_case
        )
        if refused or (contents and not access.reads_contents):
            access_log_record(request=self.request, action=AccessLogEntry.Action.DENIED, referral=access.referral)
            raise Http404
        return access

    def _log_read(self, referral, obj_type, obj_id=None, action=AccessLogEntry.Action.VIEW):
        access_log_record(request=self.request, action=action, referral=referral, obj_type=obj_type, obj_id=obj_id)

    def _detail_queryset(self):
        """The scope with what the detail shows: the acknowledging person, the children, the persons."""
        return (
            self.get_queryset()
            .select_related("acknowledged_by")
            .prefetch_related(
                Prefetch("children", queryset=Child.objects.order_by("id")),
                Prefetch("persons", queryset=Person.objects.order_by("id")),
            )
        )

    def _detail_response(self, request, pk, *, gone_ok: bool = False):
        """The referral's detail as the caller may see it, with its version as ``ETag``. After a
        change that took the referral out of the caller's scope (a returned hand-over): 204."""
        referral = one_or_none(self._detail_queryset().filter(pk=pk))
        if referral is None:
            if gone_ok:
                return Response(status=status.HTTP_204_NO_CONTENT)
            raise Http404
        return self._detail_body(request, referral)

    def _detail_body(self, request, referral: Referral) -> Response:
        serializer_class = detail_serializer_for(referral_access(request.user, referral))
        response = Response(serializer_class(referral, context=self.get_serializer_context()).data)
        response["ETag"] = f'"{referral.version}"'
        return response

    def _validated(self, request, serializer_class) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _input(self, request, serializer_class):
        """The validated body without ``version``, and the version the client read (body or
        ``If-Match``)."""
        data = self._validated(request, serializer_class)
        version, _precondition = expected_version(request, data.pop("version", None))
        return data, version

    def _transition(self, request, pk, service, serializer_class=ReferralVersionSerializer, **convert):
        referral = self._referral(pk).referral
        data, version = self._input(request, serializer_class)
        for name, function in convert.items():
            data[name] = function(data[name])
        service(referral=referral, user=request.user, expected_version=version, **data)
        return self._detail_response(request, pk, gone_ok=True)

    def retrieve(self, request, *args, **kwargs):
        # One read of the scope for the lookup and the answer (a transition reads again: it changed the row).
        referral = referral_for(request, kwargs["pk"], queryset=self._detail_queryset()).referral
        self._log_read(referral, AccessLogEntry.ObjectType.REFERRAL)
        return self._detail_body(request, referral)

    def create(self, request, *args, **kwargs):
        if not actor_of(request.user).has_role(*POLICE_ROLES):
            raise PermissionDenied(_("Only police officers and police coordinators file referrals."))
        serializer = ReferralWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        draft = data.pop("draft", False)
        children = [dict(c) for c in data.pop("children", [])]
        persons = [dict(p) for p in data.pop("persons", [])]
        # The answer is built before the commit: once the referral is committed, no query can fail and
        # turn its 201 into a 500 (a retry with the Idempotency-Key gets this very body). A refusal of
        # the service is answered by core.api.exception_handler (400 with field paths, 403).
        with transaction.atomic():
            referral = _filed(user=request.user, fields=data, children=children, persons=persons, submit=not draft)
            referral = Referral.objects.select_related(*LIST_RELATED).get(pk=referral.pk)
            referral.warnings = referral_case_number_warnings(referral=referral, user=request.user)
            body = ReferralFiledSerializer(referral, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        """``PATCH``: the author changes a draft — the fields sent, the others stay; ``children`` and
        ``persons``, when sent, replace the lists — and submits it with ``draft: false`` (the same
        checks as filing, then routing and notification). The draft is reached through the scope like
        everything else: another person's draft answers 404; a referral already submitted, 403."""
        referral = referral_for(request, kwargs["pk"]).referral
        serializer = ReferralDraftSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version, precondition = expected_version(request, data.pop("version", None))  # If-Match as elsewhere
        if version is None and not precondition:
            raise ValidationError({"version": [_("Send the version you read.")]})
        draft = data.pop("draft", True)
        with transaction.atomic():
            locked = Referral.objects.select_for_update(of=("self",)).get(pk=referral.pk)
            if version is not None and locked.version != version:
                raise Conflict(locked.version)
            children = [dict(c) for c in data.pop("children")] if "children" in data else _rows(locked.children)
            persons = [dict(p) for p in data.pop("persons")] if "persons" in data else _rows(locked.persons)
            referral = _filed(
                user=request.user, referral=locked, fields=data, children=children, persons=persons, submit=not draft
            )
            referral = Referral.objects.select_related(*LIST_RELATED).get(pk=referral.pk)
            referral.warnings = referral_case_number_warnings(referral=referral, user=request.user)
            body = ReferralFiledSerializer(referral, context=self.get_serializer_context()).data
        return Response(body)

    @action(detail=True, methods=["post"], url_path="assign-office")
    def assign_office(self, request, pk=None):
        referral = get_object_or_404(triage_queue_for(request.user), pk=pk)
        serializer = AssignOfficeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = referral_assign_office(
            referral=referral, user=request.user, office=serializer.validated_data["youth_office"]
        )
        return Response(ReferralListSerializer(referral, context=self.get_serializer_context()).data)

    # --- transitions (§ 8a SGB VIII) -------------------------------------------------------------

    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, pk, referral_acknowledge)

    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        return self._transition(request, pk, referral_assign, AssignSerializer, assignee=_assignee)

    @action(detail=True, methods=["post"])
    def rerate(self, request, pk=None):
        return self._transition(request, pk, referral_rerate, RerateSerializer)

    @action(detail=True, methods=["post"])
    def forward(self, request, pk=None):
        return self._transition(request, pk, referral_forward, ForwardSerializer)

    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._transition(request, pk, referral_accept)

    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        return self._transition(request, pk, referral_return, ReferralReasonSerializer)

    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._transition(request, pk, referral_close)

    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._transition(request, pk, referral_reopen, ReferralReasonSerializer)

    @action(detail=True, methods=["post"])
    def export(self, request, pk=None):
        referral = self._referral(pk).referral
        data, version = self._input(request, ReferralExportSerializer)
        # Recorded with the PDF of the case (referrals.handover); the PDF: GET .../pdf/ (referrals.api.printing).
        handover = referral_hand_over(referral=referral, user=request.user, expected_version=version, **data)
        self._log_read(referral, AccessLogEntry.ObjectType.EXPORT, handover.pk, action=AccessLogEntry.Action.EXPORT)
        response = Response(handover.document)
        response["Content-Disposition"] = f'attachment; filename="uebergabe-{referral.pk}.json"'
        return response

    # --- the § 8a risk assessment ----------------------------------------------------------------

    def _assessment_response(self, assessment, status_code=status.HTTP_200_OK):
        response = Response(AssessmentSerializer(assessment).data, status=status_code)
        response["ETag"] = f'"{assessment.referral.version}"'
        return response

    @action(detail=True, methods=["get", "post"])
    def assessment(self, request, pk=None):
        referral = self._referral(pk, office_only=True).referral
        if request.method == "GET":
            current = (
                referral.assessments.select_related("author", "signed_off_by")
                .prefetch_related("child_parts", "versions__author")  # issue 13 §2: parts and versions
                .order_by("-created_at", "-id")
                .first()
            )
            if current is None:
                raise Http404
            self._log_read(referral, AccessLogEntry.ObjectType.ASSESSMENT, current.pk)
            return self._assessment_response(current)
        data, version = self._input(request, AssessmentInputSerializer)
        current = assessment_save(referral=referral, user=request.user, expected_version=version, **data)
        return self._assessment_response(current)

    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, pk=None):
        referral = self._referral(pk).referral
        data, version = self._input(request, ReferralVersionSerializer)
        current = assessment_sign_off(referral=referral, user=request.user, expected_version=version)
        return self._assessment_response(current)

    # --- follow-ups, notes, attachments, timeline ------------------------------------------------

    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def followups(self, request, pk=None):
        referral = self._referral(pk, contents=True).referral
        if request.method == "GET":
            followups = referral.followups.select_related("author").order_by("created_at", "id")
            self._log_read(referral, AccessLogEntry.ObjectType.FOLLOWUP)
            return Response(FollowUpSerializer(followups, many=True).data)
        data = self._validated(request, FollowUpInputSerializer)
        followup = followup_add(referral=referral, user=request.user, **data)
        return Response(FollowUpSerializer(followup).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def notes(self, request, pk=None):
        access = self._referral(pk, office_only=True)
        referral = access.referral
        if request.method == "GET":
            self._log_read(referral, AccessLogEntry.ObjectType.NOTE)
            return Response(NoteSerializer(notes_for(access), many=True).data)
        data = self._validated(request, NoteInputSerializer)
        note = note_add(referral=referral, user=request.user, **data)
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get", "post"], parser_classes=[LimitedMultiPartParser], pagination_class=None)
    def attachments(self, request, pk=None):
        access = self._referral(pk, office_or_police=True)
        referral = access.referral
        if request.method == "GET":
            self._log_read(referral, AccessLogEntry.ObjectType.ATTACHMENT)
            return Response(AttachmentSerializer(attachments_for(access), many=True).data)
        data = self._validated(request, AttachmentUploadSerializer)
        if not access.works_on_case:  # police attach their own files (referrals.dialogue)
            attachment = police_attachment_upload(access, request.user, data)
            return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
        attachment = attachment_add(
            referral=referral, user=request.user, uploaded_file=data["file"], confidential=data["confidential"]
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]+)", url_name="attachment")
    def attachment(self, request, pk=None, attachment_id=None):
        access = self._referral(pk, office_or_police=True)
        referral = access.referral
        attachment = attachment_or_denied(request, access, int(attachment_id))
        handle = open_for_download(attachment.file)  # missing in the store: 404; store unreachable: 503
        self._log_read(
            referral, AccessLogEntry.ObjectType.ATTACHMENT, attachment.pk, action=AccessLogEntry.Action.DOWNLOAD
        )
        extension = ATTACHMENT_EXTENSIONS.get(attachment.content_type, "bin")
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"anlage-{attachment.pk}.{extension}",
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        access = self._referral(pk, office_only=True)
        self._log_read(access.referral, AccessLogEntry.ObjectType.TIMELINE)
        return Response(TimelineEventSerializer(timeline_for(access), many=True).data)

    @action(detail=True, methods=["get"], url_path="access-log", url_name="access-log", pagination_class=None)
    def access_log(self, request, pk=None):
        # Not through ``visible_to``: the data protection officer reads the log of their office's
        # referrals without seeing the referrals themselves; nobody else gets past ``referral_access_log``.
        wellformed = str(pk).isdigit() and len(str(pk)) <= 18  # fits the log's integer column
        entries = referral_access_log(request.user, int(pk)) if wellformed else None
        if entries is None:
            if wellformed:  # a refused look at the log is logged like any refused attempt (QA of 2026-12-05)
                access_log_record(request=request, action=AccessLogEntry.Action.DENIED, obj_id=int(pk))
            raise Http404
        entries = list(entries.order_by("-at", "-id")[:1000])
        references = references_of(request.user, entries)
        return Response([entry_row(e, references) for e in entries])
