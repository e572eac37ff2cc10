"""Pages of the dialogue with the police (issue 14 §3): the office asks on its case page, police answer
and attach files on theirs. Each action is a POST of its own: the referral from the person's scope
(404 outside, ``views._visible``), the action's relation from the transition table (403 inside the
scope), the form parsed; an error shows the page again with everything typed, success redirects."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.queries import one_or_none

from .access import referral_access
from .dialogue import police_attachment_add, question_answer, question_ask, questions_for
from .dialogue_forms import AnswerForm, PoliceAttachmentForm, QuestionForm
from .dialogue_models import Question
from .models import Referral
from .transitions import Action, transitions_of
from .views import _render_detail, _show_errors, _visible


def _acting(request, pk, action: Action) -> Referral:
    referral = _visible(request, pk)
    if action not in transitions_of(referral_access(request.user, referral)):
        raise PermissionDenied(_("This action is not available to you on this referral."))
    return referral


@login_required
@require_POST
def question_create(request, pk):
    """The responsible office puts a question to the filing station."""
    referral = _acting(request, pk, Action.QUESTION)
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            question_ask(referral=referral, user=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            _show_errors(request, form, exc)
        else:
            messages.success(
                request,
                _("Your question has been sent to %(station)s.") % {"station": referral.station.name},
            )
            return redirect("referrals:detail", pk=referral.pk)
    return _render_detail(request, _visible(request, pk), bound={form.key: form})


@login_required
@require_POST
def question_answer_page(request, question_id):
    """Police of the filing station answer a question; the question only through its referral's scope
    (404 otherwise, like a question that does not exist)."""
    referral_id = one_or_none(Question.objects.filter(pk=question_id).values_list("referral_id", flat=True))
    if referral_id is None:
        raise Http404
    referral = _visible(request, referral_id)
    access = referral_access(request.user, referral)
    question = one_or_none(questions_for(access).filter(pk=question_id))
    if question is None:
        raise Http404
    if Action.ANSWER not in transitions_of(access):
        raise PermissionDenied(_("Only police of the filing station answer questions of the youth office."))
    form = AnswerForm(request.POST, question_id=question.pk)
    if form.is_valid():
        try:
            question_answer(question=question, user=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            _show_errors(request, form, exc)
        else:
            messages.success(request, _("Your answer has been sent to %(office)s.") % {"office": question.office.name})
            return redirect("referrals:detail", pk=referral.pk)
    return _render_detail(request, referral, bound={form.key: form})


@login_required
@require_POST
def police_attachment_create(request, pk):
    """Police attach a file to their referral or to one of its follow-ups."""
    referral = _acting(request, pk, Action.POLICE_ATTACHMENT)
    form = PoliceAttachmentForm(request.POST, request.FILES, referral=referral)
    if form.is_valid():
        followup_id = form.cleaned_data["followup"]
        try:
            attachment = police_attachment_add(
                referral=referral,
                user=request.user,
                uploaded_file=form.cleaned_data["file"],
                followup=referral.followups.filter(pk=followup_id).first() if followup_id else None,
            )
        except ValidationError as exc:
            _show_errors(request, form, exc)
        else:
            messages.success(request, _("File “%(name)s” attached.") % {"name": attachment.original_name})
            return redirect("referrals:detail", pk=referral.pk)
    return _render_detail(request, _visible(request, pk), bound={form.key: form})
