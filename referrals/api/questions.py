"""The dialogue with the police through the API (issue 14 §3): ``GET/POST
/api/v1/referrals/{id}/questions/`` (the thread; the office asks) and ``POST
/api/v1/questions/{id}/answer/`` (the filing station answers). Police attachments go through the
referral's ``attachments`` endpoint (``police_attachment_upload``).

Scope as everywhere: the referral from ``Referral.objects.visible_to`` (``referral_for``), else 404;
the thread only for the referral's offices and police (``dialogue.questions_for``), else 404 too; a
question is found only through a referral in the caller's scope. What a caller may not do inside the
scope answers 403 (the transition table, through the services)."""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.api.serializers import AgencyRefSerializer
from core.idempotency import IdempotentPostMixin
from core.queries import one_or_none
from core.serializers import ErrorSerializer, ModelSerializer, StrictCharField, UserRefSerializer

from ..access import ReferralAccess, referral_for
from ..access_log import access_log_record
from ..dialogue import police_attachment_add, question_answer, question_ask, questions_for
from ..dialogue_models import QUESTION_TEXT_LIMIT, Question
from ..models import AccessLogEntry, FollowUp, Referral

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class QuestionSerializer(ModelSerializer):
    office = AgencyRefSerializer(read_only=True)
    station = AgencyRefSerializer(read_only=True)
    asked_by = UserRefSerializer(read_only=True)
    answered_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Question
        fields = [
            "id", "referral", "office", "station", "text", "asked_by", "asked_at", "answer", "answered_by",
            "answered_at",
        ]  # fmt: skip
        read_only_fields = fields


class QuestionInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=QUESTION_TEXT_LIMIT, help_text="The question, free text (no more than needed).")


class AnswerInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=QUESTION_TEXT_LIMIT, help_text="The answer of the station.")


QUESTION_EXAMPLE = {
    "id": 3,
    "referral": 42,
    "office": {"id": 21, "name": "Jugendamt Hilden"},
    "station": {"id": 5, "name": "Polizeiwache Hilden"},
    "text": "War der Vater beim Einsatz alkoholisiert?",
    "asked_by": {"id": 12, "name": "Petra Sander"},
    "asked_at": "2026-11-25T09:10:00+01:00",
    "answer": "Ja, Atemalkohol 1,2 Promille.",
    "answered_by": {"id": 8, "name": "PK Meier"},
    "answered_at": "2026-11-25T11:30:00+01:00",
}


def _scoped_referral(request, pk) -> ReferralAccess:
    """The referral from the caller's scope whose dialogue the caller belongs to, else 404 (logged
    as refused, like every lookup by id)."""
    access = referral_for(request, pk, queryset=Referral.objects.visible_to(request.user))
    if not (access.case_office_ids or access.is_police):
        access_log_record(request=request, action=AccessLogEntry.Action.DENIED, referral=access.referral)
        raise Http404
    return access


@extend_schema_view(
    get=extend_schema(
        summary="The questions of the office to the police about this referral (offices and police of the referral)",
        description="Oldest first, each with its answer once given. 404 for anyone else, as for a nonexistent "
        "referral.",
        responses={200: QuestionSerializer(many=True), 404: ErrorSerializer},
        examples=[OpenApiExample("Thread", value=[QUESTION_EXAMPLE], response_only=True)],
    ),
    post=extend_schema(
        summary="Ask the filing police station a question (responsible office)",
        description="The station's officers are notified in the application and the station's mailbox by "
        "e-mail, with the reference only — never the question.",
        request=QuestionInputSerializer,
        responses={201: QuestionSerializer, **ERRORS},
        examples=[
            OpenApiExample("Request", value={"text": "War der Vater beim Einsatz alkoholisiert?"}, request_only=True),
            OpenApiExample(
                "Asked",
                value={**QUESTION_EXAMPLE, "answer": "", "answered_by": None, "answered_at": None},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    ),
)
class ReferralQuestionsView(IdempotentPostMixin, APIView):
    def get(self, request, pk):
        access = _scoped_referral(request, pk)
        # The thread is part of the case history: logged as a read of it.
        access_log_record(
            request=request,
            action=AccessLogEntry.Action.VIEW,
            referral=access.referral,
            obj_type=AccessLogEntry.ObjectType.TIMELINE,
        )
        return Response(QuestionSerializer(questions_for(access), many=True).data)

    def post(self, request, pk):
        access = _scoped_referral(request, pk)
        serializer = QuestionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        question = question_ask(referral=access.referral, user=request.user, text=serializer.validated_data["text"])
        return Response(QuestionSerializer(question).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(
        summary="Answer a question of the youth office (police of the filing station or authority)",
        description="A question is answered once (a second answer: 400). Whoever asked and the assigned "
        "caseworker are notified in the application, the office's mailbox by e-mail — with the reference only. "
        "404 for a question of a referral outside the caller's scope.",
        request=AnswerInputSerializer,
        responses={200: QuestionSerializer, **ERRORS},
        examples=[
            OpenApiExample("Request", value={"text": "Ja, Atemalkohol 1,2 Promille."}, request_only=True),
            OpenApiExample("Answered", value=QUESTION_EXAMPLE, response_only=True, status_codes=["200"]),
        ],
    )
)
class QuestionAnswerView(IdempotentPostMixin, APIView):
    def post(self, request, pk):
        question = question_in_scope(request, pk)
        serializer = AnswerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answered = question_answer(question=question, user=request.user, text=serializer.validated_data["text"])
        return Response(QuestionSerializer(answered).data)


def question_in_scope(request, pk) -> Question:
    """A question only through its referral: in the caller's scope, and of a referral whose dialogue
    the caller belongs to — else 404, the same as a question that does not exist."""
    wellformed = str(pk).isdigit() and len(str(pk)) <= 18
    question = one_or_none(Question.objects.filter(pk=pk).only("pk", "referral_id")) if wellformed else None
    if question is None:
        raise Http404
    access = _scoped_referral(request, question.referral_id)
    return questions_for(access).get(pk=question.pk)


def police_attachment_upload(access: ReferralAccess, user, data: dict):
    """A police upload through ``/api/v1/referrals/{id}/attachments/``: never confided (that marking is
    the office's, § 65 SGB VIII), optionally to one of the referral's follow-ups."""
    if data.get("confidential"):
        raise ValidationError({"confidential": [_("Only the youth office marks files as confided (§ 65 SGB VIII).")]})
    followup = None
    if data.get("followup") is not None:
        followup = FollowUp.objects.filter(referral=access.referral, pk=data["followup"]).first()
        if followup is None:
            raise ValidationError({"followup": [_("Choose a follow-up of this referral.")]})
    return police_attachment_add(referral=access.referral, user=user, uploaded_file=data["file"], followup=followup)


__all__ = ["QuestionAnswerView", "ReferralQuestionsView", "police_attachment_upload"]
