"""The § 8a assessment form of the office page with one part per child (issue 13 §2; docs/domain.md
"Gefährdungseinschätzung je Kind"). ``ChildAssessmentForm`` is the old ``AssessmentForm`` without the
one outcome for the whole referral, plus the shared parts (direct impression, professionals) and a
sub-form per child of the referral (``child_forms``, prefix ``child-<id>``). Sex and date of birth
are the child's as police filed them and are only shown; an estimated month/year of birth is asked
only where police gave none.

A stale form (someone else saved the assessment since it was opened, ``based_on``) is shown again
with both versions — the other person's as saved, the own in the form — and asks to save again.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .assessment_children import MIN_PROFESSIONALS, child_part_problems
from .assessment_models import (
    HELP_BEFORE,
    HELP_NEW,
    AssessmentChild,
    DangerFrom,
    EndangermentKind,
    Impression,
    Residence,
    YesNoUnknown,
)
from .forms import AssessmentForm, PersonChoiceField, office_people
from .models import Outcome


class ChildPartForm(forms.Form):
    result = forms.ChoiceField(label=_("Result for this child"), choices=Outcome.choices, widget=forms.RadioSelect)
    kinds = forms.MultipleChoiceField(
        label=_("Kinds of endangerment"),
        choices=EndangermentKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Only for an acute or latent endangerment; several allowed."),
    )
    danger_from = forms.MultipleChoiceField(
        label=_("The danger mainly comes from"),
        choices=DangerFrom.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Only for an acute or latent endangerment."),
    )
    residence = forms.ChoiceField(
        label=_("Where the child lived when the referral came"), choices=(("", _("Please choose")), *Residence.choices)
    )
    foreign_origin = forms.ChoiceField(
        label=_("At least one parent of foreign origin"), choices=YesNoUnknown.choices, widget=forms.RadioSelect
    )
    german_spoken = forms.TypedChoiceField(
        label=_("German mainly spoken in the family"),
        choices=(("yes", _("yes")), ("no", _("no"))),
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        widget=forms.RadioSelect,
    )
    help_before = forms.MultipleChoiceField(
        label=_("Help received at the time"),
        choices=[(h.value, h.label) for h in HELP_BEFORE],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    help_new = forms.MultipleChoiceField(
        label=_("Help newly started"),
        choices=[(h.value, h.label) for h in HELP_NEW],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    birth_month = forms.IntegerField(label=_("Estimated month of birth"), min_value=1, max_value=12, required=False)
    birth_year = forms.IntegerField(label=_("Estimated year of birth"), min_value=1900, max_value=2100, required=False)

    def __init__(self, *args, child, **kwargs):
        self.child = child
        kwargs.setdefault("auto_id", f"child{child.pk}_%s")
        super().__init__(*args, prefix=f"child-{child.pk}", **kwargs)
        if child.date_of_birth is not None:  # police gave it: never typed twice
            del self.fields["birth_month"], self.fields["birth_year"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        part = AssessmentChild(child=self.child, **{k: v for k, v in data.items() if k in self.fields})
        for field, texts in child_part_problems(part, self.child).items():
            for text in texts:
                self.add_error(field if field in self.fields else None, text)
        return data

    def part(self) -> dict:
        return {"child": self.child.pk, **self.cleaned_data}

    @staticmethod
    def initial_from(part: AssessmentChild | None) -> dict:
        if part is None:
            return {}
        german = {True: "yes", False: "no"}.get(part.german_spoken)
        return {
            "result": part.result, "kinds": part.kinds, "danger_from": part.danger_from, "residence": part.residence,
            "foreign_origin": part.foreign_origin, "german_spoken": german, "help_before": part.help_before,
            "help_new": part.help_new, "birth_month": part.birth_month, "birth_year": part.birth_year,
        }  # fmt: skip


class ChildAssessmentForm(AssessmentForm):
    impressions = forms.MultipleChoiceField(
        label=_("Direct impression of the child"),
        choices=Impression.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("How your office saw the child itself."),
    )
    professionals = forms.ModelMultipleChoiceField(
        label=_("Professionals who took part"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("At least two professionals of your office (§ 8a Abs. 1 SGB VIII)."),
    )
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, referral, pending=None, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["outcome"]  # each child's result; the overall outcome is derived
        self.fields["professionals"].queryset = office_people([referral.youth_office_id])
        self.fields["professionals"].label_from_instance = PersonChoiceField.label_from_instance.__get__(
            self.fields["professionals"]
        )
        parts = {p.child_id: p for p in pending.child_parts.all()} if pending is not None else {}
        children = list(referral.children.all())
        self.child_forms = [
            ChildPartForm(
                self.data if self.is_bound else None,
                child=child,
                initial=ChildPartForm.initial_from(parts.get(child.pk)),
            )
            for child in children
        ]
        self.pending = pending
        revision = pending.revision if pending is not None else 0
        self.conflict = None
        if self.is_bound:
            posted = str(self.data.get("based_on") or "0")
            if posted != str(revision):
                # Someone else saved since this form was opened: show theirs, keep ours, ask again.
                self.conflict = pending
                self.data = self.data.copy()
                self.data["based_on"] = str(revision)
                self.data["version"] = str(referral.version)
        else:
            self.initial["based_on"] = revision
            if pending is not None:
                self.initial["impressions"] = pending.impressions
                self.initial["professionals"] = pending.professionals

    def clean_professionals(self):
        """The rule of the service (``assessment_children.professionals_check``) checked here too, so
        that the page names it together with the children's parts, not in a second round."""
        people = self.cleaned_data["professionals"]
        if len(people) < MIN_PROFESSIONALS:
            raise forms.ValidationError(_("Name at least two professionals who took part."))
        return people

    def clean(self):
        data = super().clean()
        if self.conflict is not None:
            raise forms.ValidationError(
                _(
                    "Someone else saved this assessment since you opened it. Compare both versions: theirs is shown "
                    "above, yours is kept in the form. Save again to make yours the current version (theirs stays in "
                    "the history)."
                )
            )
        if not all([form.is_valid() for form in self.child_forms]):
            raise forms.ValidationError(_("Check the parts of the children."))
        data["children"] = [form.part() for form in self.child_forms]
        return data


def pending_assessment(referral):
    """The referral's latest assessment if it waits for a sign-off (the one a save revises), else None."""
    latest = referral.assessments.order_by("-created_at", "-id").first()
    return latest if latest is not None and not latest.is_complete else None


def child_assessment_form(referral, *args, **kwargs):
    """The assessment form of ``referral`` (``views.PAGE_ACTIONS``), built on its pending assessment."""
    return ChildAssessmentForm(*args, referral=referral, pending=pending_assessment(referral), **kwargs)


def assessment_people(assessments) -> dict[int, str]:
    """Names of the professionals named in ``assessments`` (one query), for the office page."""
    ids = {pk for item in assessments for pk in item.professionals or []}
    if not ids:
        return {}
    people = get_user_model().objects.filter(pk__in=ids)
    return {p.pk: p.get_full_name() or p.get_username() for p in people}
