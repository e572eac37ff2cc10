"""The screening forms of the office page (issue 13 §1; docs/domain.md, "Ersteinschätzung"). They parse
only; ``referrals.screening`` decides what is allowed and what is missing."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import CaseworkForm, ConfirmedForm
from .models import TEXT_LIMIT
from .screening_models import NextStep


def _yes_no(value):
    return {"yes": True, "no": False}.get(value)


class ScreeningForm(CaseworkForm):
    key = "screening"
    weighty_indications = forms.TypedChoiceField(
        label=_("Weighty indications of a risk to the child's welfare?"),
        choices=(("yes", _("Yes: the § 8a risk assessment follows")), ("no", _("No weighty indications"))),
        coerce=_yes_no,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the screening rests on: the referral, enquiries, earlier contacts."),
    )
    next_step = forms.ChoiceField(
        label=_("Next step (without weighty indications)"),
        choices=(("", _("Please choose")), *NextStep.choices),
        required=False,
        help_text=_("A case without weighty indications is closed once a second professional signs it off."),
    )


class ScreeningSignOffForm(ConfirmedForm):
    key = "screening_sign_off"
