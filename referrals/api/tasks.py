"""The follow-through API (issue 14 §§ 1–2): tasks on a case, the person's and the office's open tasks,
and sign-off requests. Same rules as the pages: referrals from ``Referral.objects.visible_to``
(through ``referral_for``; 404 outside), tasks from ``Task.objects.visible_to`` (404 for another
office's), writes through ``referrals.followthrough``. Tasks are the office's casework: who sees the
referral without working on it in an office (police, coordinators, individual grants) gets 404, as for
notes; the transition table answers 403 inside the office (a pending hand-over is read-only)."""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import IdempotentPostMixin
from core.pagination import KeysetPagination
from core.serializers import DateTimeField, ModelSerializer, unknown_value

from .. import followthrough
from ..access import referral_for
from ..access_log import access_log_record
from ..models import AccessLogEntry, Referral
from ..task_models import SIGNOFF_COMMENT_MAX, TASK_TITLE_MAX, SignOffRequest, Task, TaskKind
from .schema import IF_MATCH, VERSION_ERRORS
from .serializers import ErrorSerializer
from .views import expected_version

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input, with the field it concerns."),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed for the caller's role or the case's status."),
    404: OpenApiResponse(ErrorSerializer, description="Not in the caller's scope, or no such object."),
}


class TaskSerializer(ModelSerializer):
    reference = serializers.CharField(source="referral.reference", read_only=True)
    done = serializers.BooleanField(source="is_done", read_only=True)

    class Meta:
        model = Task
        fields = [
            "id", "referral", "reference", "title", "kind", "due_at", "assignee", "suggested", "done", "done_at",
            "done_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


def _person(user_id):
    if user_id is None:
        return None
    person = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if person is None:
        raise ValidationError({"assignee": [_("Choose a person of the responsible youth office.")]})
    return person


class TaskInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=TASK_TITLE_MAX)
    kind = serializers.ChoiceField(choices=TaskKind.choices)
    due_at = DateTimeField(help_text="Date and time with offset, e.g. 2026-12-11T12:00:00+01:00.")
    assignee = serializers.IntegerField(required=False, allow_null=True, help_text="A person of the office.")


class TaskPatchSerializer(serializers.Serializer):
    done = serializers.BooleanField(required=False)
    due_at = DateTimeField(required=False)
    assignee = serializers.IntegerField(required=False, allow_null=True, help_text="A person of the office, or null.")


class SignOffRequestInputSerializer(serializers.Serializer):
    to = serializers.IntegerField(allow_null=True, help_text="A colleague of the office, or null for any colleague.")
    version = serializers.IntegerField(required=False, min_value=1)


class SignOffReturnInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=SIGNOFF_COMMENT_MAX)
    version = serializers.IntegerField(required=False, min_value=1)


class SignOffRequestSerializer(ModelSerializer):
    class Meta:
        model = SignOffRequest
        fields = [
            "id", "referral", "subject", "requested_by", "requested_to", "requested_at", "state", "resolved_by",
            "resolved_at", "comment",
        ]  # fmt: skip
        read_only_fields = fields


def _office_referral(request, pk) -> Referral:
    """The referral from the caller's scope on which they work in an office, else 404 (logged)."""
    access = referral_for(request, pk)
    if not access.works_on_case:
        access_log_record(request=request, action=AccessLogEntry.Action.DENIED, referral=access.referral)
        raise Http404
    return access.referral


class ReferralTasksView(IdempotentPostMixin, APIView):
    """``GET``: the case's tasks (of the caller's office). ``POST``: a new task."""

    @extend_schema(
        operation_id="referral_tasks_list",
        summary="The tasks of a case",
        responses={200: TaskSerializer(many=True), 404: ERRORS[404]},
    )
    def get(self, request, pk):
        referral = _office_referral(request, pk)
        tasks = followthrough.tasks_of_case(referral, request.user).select_related("referral")
        access_log_record(
            request=request,
            action=AccessLogEntry.Action.VIEW,
            referral=referral,
            obj_type=AccessLogEntry.ObjectType.TASK,
        )
        return Response(TaskSerializer(tasks, many=True).data)

    @extend_schema(
        operation_id="referral_tasks_create",
        summary="Add a task to a case",
        description="For people of the responsible office while the case is worked on. The assignee is told.",
        request=TaskInputSerializer,
        responses={201: TaskSerializer, **ERRORS},
    )
    def post(self, request, pk):
        referral = _office_referral(request, pk)
        serializer = TaskInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        task = followthrough.task_create(
            referral=referral, user=request.user, title=data["title"], kind=data["kind"], due_at=data["due_at"],
            assignee=_person(data.get("assignee")),
        )  # fmt: skip
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Open tasks: mine, or the office's (leads)",
        parameters=[
            OpenApiParameter("scope", OpenApiTypes.STR, enum=["mine", "office"], description="Default: mine."),
            OpenApiParameter("due", OpenApiTypes.STR, enum=list(followthrough.DUE_FILTERS)),
        ],
        responses={200: TaskSerializer(many=True), 400: ERRORS[400], 403: ERRORS[403]},
    ),
    partial_update=extend_schema(
        summary="Mark a task done or not done, move its due time, (re)assign it",
        description="For people of the task's office. Not while the case is forwarded to another office or "
        "closed: 400 with the reason under `status` (after reopening it, again); only marking an open task of a "
        "closed case done is allowed, so that it does not stay overdue in the lists.",
        request=TaskPatchSerializer,
        responses={200: TaskSerializer, **ERRORS},
    ),
)
class TaskViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Open tasks of the caller (``scope=mine``) or of the offices they lead (``scope=office``), by due
    time; one task changed with ``PATCH``."""

    serializer_class = TaskSerializer
    pagination_class = KeysetPagination
    keyset_ordering = ["due_at", "id"]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        if self.action != "list":
            return Task.objects.visible_to(self.request.user)
        params = self.request.query_params
        scope, due = params.get("scope", "mine"), params.get("due")
        if scope not in ("mine", "office"):
            raise ValidationError({"scope": [unknown_value(["mine", "office"])]})
        if due is not None and due not in followthrough.DUE_FILTERS:
            raise ValidationError({"due": [unknown_value(followthrough.DUE_FILTERS)]})
        return followthrough.task_list(self.request.user, scope=scope, due=due)

    def partial_update(self, request, pk=None):
        task = followthrough.task_for(request.user, pk)
        serializer = TaskPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changes = {}
        if "due_at" in data:
            changes["due_at"] = data["due_at"]
        if "assignee" in data:
            changes["assignee"] = _person(data["assignee"])
        task = followthrough.task_update(task=task, user=request.user, done=data.get("done"), **changes)
        return Response(TaskSerializer(task).data)


class SignOffRequestView(IdempotentPostMixin, APIView):
    """The author of what waits for a sign-off asks a colleague (``to``) or any colleague (``null``)."""

    @extend_schema(
        operation_id="referral_sign_off_request",
        summary="Ask a colleague to sign off",
        description="The risk assessment (or the screening decision) waiting for a sign-off; only its author asks. "
        "The colleague — or every colleague of the office — is told in the application.",
        request=SignOffRequestInputSerializer,
        parameters=[IF_MATCH],
        responses={201: SignOffRequestSerializer, **ERRORS, **VERSION_ERRORS},
    )
    def post(self, request, pk):
        referral = referral_for(request, pk).referral
        serializer = SignOffRequestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version, _precondition = expected_version(request, data.pop("version", None))
        to = None
        if data["to"] is not None:
            to = get_user_model().objects.filter(pk=data["to"], is_active=True).first()
            if to is None:
                raise ValidationError({"to": [_("Choose a colleague of the responsible youth office.")]})
        result = followthrough.signoff_request_create(referral=referral, user=request.user, to=to,
                                                      expected_version=version)  # fmt: skip
        return Response(SignOffRequestSerializer(result).data, status=status.HTTP_201_CREATED)


class SignOffReturnView(IdempotentPostMixin, APIView):
    """The asked colleague sends it back with a comment instead of signing off; the author is told."""

    @extend_schema(
        operation_id="referral_sign_off_return",
        summary="Send it back with a comment",
        request=SignOffReturnInputSerializer,
        parameters=[IF_MATCH],
        responses={200: SignOffRequestSerializer, **ERRORS, **VERSION_ERRORS},
    )
    def post(self, request, pk):
        referral = referral_for(request, pk).referral
        serializer = SignOffReturnInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version, _precondition = expected_version(request, data.pop("version", None))
        result = followthrough.signoff_return(referral=referral, user=request.user, comment=data["comment"],
                                              expected_version=version)  # fmt: skip
        return Response(SignOffRequestSerializer(result).data)
