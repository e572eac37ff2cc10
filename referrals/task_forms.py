"""Forms of the follow-through on the case page and "Meine Aufgaben" (issue 14 §§ 1–2): a task, the
request for a sign-off and its return with a comment (referrals.followthrough)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import DATETIME_FORMAT, DATETIME_INPUT_FORMATS, GERMAN_DATE, CaseworkForm, PersonChoiceField, office_people
from .task_models import SIGNOFF_COMMENT_MAX, TASK_TITLE_MAX, TaskKind


class TaskForm(CaseworkForm):
    """A task on the case: title, kind, due date and time, optionally a person of the office."""

    key = "task"
    title = forms.CharField(
        label=_("Task"),
        max_length=TASK_TITLE_MAX,
        help_text=_("What has to happen, e.g. “Hausbesuch” or “Kita anrufen”."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=TaskKind.choices)
    due_at = forms.DateTimeField(
        label=_("Due"),
        input_formats=DATETIME_INPUT_FORMATS,
        widget=forms.DateTimeInput(format=DATETIME_FORMAT, attrs={"type": "datetime-local", **GERMAN_DATE}),
        help_text=_("Date and time. You are reminded ahead of it and when it is due."),
    )
    assignee = PersonChoiceField(
        label=_("Assigned to"),
        queryset=None,
        required=False,
        empty_label=_("Nobody yet (the lead sees it in the office's tasks)"),
    )

    def __init__(self, *args, office_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = office_people(office_ids)


class SignOffRequestForm(CaseworkForm):
    """The author asks a named colleague — or any colleague of the office — to sign off."""

    key = "sign_off_request"
    to = PersonChoiceField(label=_("Ask"), queryset=None, required=False, empty_label=_("Any colleague of the office"))

    def __init__(self, *args, office_ids=(), author=None, **kwargs):
        super().__init__(*args, **kwargs)
        people = office_people(office_ids)
        self.fields["to"].queryset = people.exclude(pk=author.pk) if author is not None else people


class SignOffReturnForm(CaseworkForm):
    """The asked colleague sends it back with a comment instead of signing off."""

    key = "sign_off_return"
    comment = forms.CharField(
        label=_("Comment"),
        max_length=SIGNOFF_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What should be changed before you can sign it off. The author reads it on the case page."),
    )
