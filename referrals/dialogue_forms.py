"""Forms of the dialogue with the police (issue 14 §3): the office's question, the station's answer,
a police file. Each form's ``key`` is its action in ``referrals.transitions`` (the page offers a form
exactly when the transition table allows the action)."""

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .dialogue_models import QUESTION_TEXT_LIMIT
from .models import Referral


class QuestionForm(forms.Form):
    key = "question"
    text = forms.CharField(
        label=_("Question to the police"),
        max_length=QUESTION_TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Only what you need for your assessment. The filing station reads the question and its answer; "
            "it never sees the office's notes."
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "question_%s")
        super().__init__(*args, **kwargs)


class AnswerForm(forms.Form):
    """The answer to one question; ``auto_id`` per question, so several open questions on one page
    never share an element id."""

    key = "answer"
    text = forms.CharField(
        label=_("Answer"),
        max_length=QUESTION_TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The youth office reads the answer in the history of the case."),
    )

    def __init__(self, *args, question_id: int, **kwargs):
        kwargs.setdefault("auto_id", f"answer{question_id}_%s")
        super().__init__(*args, **kwargs)
        self.question_id = question_id


class PoliceAttachmentForm(forms.Form):
    """A file of the police (their report, a photo) to the referral or to one of its follow-ups."""

    key = "police_attachment"
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
        help_text=_("PDF, PNG or JPEG, at most %(mb)d MB."),
    )
    followup = forms.TypedChoiceField(label=_("Belongs to"), required=False, coerce=int, empty_value=None, choices=())

    def __init__(self, *args, referral: Referral, **kwargs):
        kwargs.setdefault("auto_id", "police_attachment_%s")
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = self.fields["file"].help_text % {
            "mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        }
        followups = referral.followups.order_by("created_at", "id").values_list("pk", "created_at")
        self.fields["followup"].choices = [("", _("the referral"))] + [
            (pk, _("follow-up of %(date)s") % {"date": timezone.localtime(created).strftime("%d.%m.%Y %H:%M")})
            for pk, created in followups
        ]
