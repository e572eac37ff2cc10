"""Forms of the referral pages. They parse and check formats only; completeness and routing are the
business of ``referrals.services.referral_save``, whose errors (keyed by field path such as
``children.0.last_name``) ``ReferralForms.add_service_errors`` puts next to the fields they concern."""

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.forms.formsets import DELETION_FIELD_NAME
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from agencies.models import OFFICE_ROLES, Agency, AgencyKind
from core.dates import DATE_FORMAT, DATE_INPUT_FORMATS, DATETIME_FORMAT, DATETIME_INPUT_FORMATS, GERMAN_DATE

from .models import (
    MAX_RETENTION_DAYS,
    TEXT_LIMIT,
    Child,
    ChildrenPresence,
    Concern,
    Measure,
    Outcome,
    Person,
    PersonRole,
    PoliceMeasure,
    Referral,
    RetentionOutcome,
    RiskFactor,
    Status,
    Urgency,
)
from .services import CHILD_FIELDS, PERSON_FIELDS, REFERRAL_FIELDS, filing_agency_for, submission_errors
from .validators import (
    EARLIEST_BIRTH_DATE,
    ascii_postcode_validator,
    plausible_birth_date,
    plausible_incident_at,
    postcode_to_ascii,
)

# What a referral needs to be submitted (referrals.services.submission_errors); a draft needs none of
# it. The page marks these fields. Of the two fact fields one is enough.
SUBMIT_REQUIRED = (
    "police_case_number", "callback_phone", "urgency", "incident_at", "incident_location", "concerns",
    "facts_observed", "facts_reported", "children_present", "household_street", "household_postcode",
    "household_city", "parents_informed",
)  # fmt: skip
CHILD_SUBMIT_REQUIRED = ("first_name", "last_name")
PERSON_SUBMIT_REQUIRED = ("role", "last_name")


def _mark_submit_required(form, names):
    """Flag the fields a submission needs (``includes/field.html`` marks them); the form itself still
    accepts them empty, for a draft."""
    for name in names:
        form.fields[name].submit_required = True


def _label(model, name):
    return capfirst(model._meta.get_field(name).verbose_name)


def _checkboxes(name, choices):
    return forms.MultipleChoiceField(
        label=_label(Referral, name), choices=choices, required=False, widget=forms.CheckboxSelectMultiple
    )


def _date_input():
    return forms.DateInput(format=DATE_FORMAT, attrs={"type": "date", **GERMAN_DATE})


def _accept_german_dates(form, *names):
    for name in names:
        field = form.fields[name]
        field.input_formats = DATETIME_INPUT_FORMATS if isinstance(field, forms.DateTimeField) else DATE_INPUT_FORMATS


def _textarea(rows=4):
    return forms.Textarea(attrs={"rows": rows})


class PostcodeField(forms.CharField):
    """A postcode: digits of any script become ASCII digits (４０７２３ is stored and routed as 40723);
    anything else that is not five digits is refused. A refused value stays in the field as typed."""

    default_validators = [ascii_postcode_validator]

    def to_python(self, value):
        return postcode_to_ascii(super().to_python(value))


def _birth_date_input():
    attrs = {"type": "date", "min": EARLIEST_BIRTH_DATE.isoformat(), **GERMAN_DATE}
    return forms.DateInput(format=DATE_FORMAT, attrs=attrs)


def _clean_with(form, name, validator):
    value = form.cleaned_data.get(name)
    validator(value)
    return value


class ReferralForm(forms.ModelForm):
    """The referral's own fields. Every field is optional here (drafts may be incomplete); the model
    validators still check formats, lengths and that dates do not lie in the future."""

    urgency = forms.ChoiceField(
        label=_label(Referral, "urgency"),
        choices=Urgency.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("Immediate: acute danger. Also phone the youth office (out of hours its on-call service)."),
    )
    concerns = _checkboxes("concerns", Concern.choices)
    children_present = forms.ChoiceField(
        label=_label(Referral, "children_present"),
        choices=ChildrenPresence.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    police_measures = _checkboxes("police_measures", PoliceMeasure.choices)
    risk_factors = _checkboxes("risk_factors", RiskFactor.choices)
    parents_informed = forms.TypedChoiceField(
        label=_label(Referral, "parents_informed"),
        choices=[("True", _("Yes")), ("False", _("No"))],
        coerce=lambda value: value == "True",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Referral
        fields = REFERRAL_FIELDS
        field_classes = {"household_postcode": PostcodeField}
        widgets = {
            "incident_at": forms.DateTimeInput(format=DATETIME_FORMAT, attrs={"type": "datetime-local", **GERMAN_DATE}),
            "residence_ban_until": _date_input(),
            "callout_reason": _textarea(3),
            "facts_observed": _textarea(6),
            "facts_reported": _textarea(6),
            "injuries": _textarea(3),
            "home_condition": _textarea(3),
            "risk_notes": _textarea(3),
            "parents_not_informed_reason": _textarea(3),
            "callback_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "household_postcode": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        }
        help_texts = {
            "incident_at": _("Date and time, e.g. when the patrol arrived."),
            "residence_ban_until": _("Only with a ban on return: its last day. Empty: 10 days from the operation."),
            "facts_observed": _("Only what officers saw or heard themselves."),
            "facts_reported": _("What others told police, and who (e.g. neighbour, child, parent)."),
            "household_postcode": _("Five digits. The address decides which youth office receives the referral."),
            "parents_not_informed_reason": _("Only if the parents were not informed."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _accept_german_dates(self, "incident_at", "residence_ban_until")
        _mark_submit_required(self, SUBMIT_REQUIRED)

    def clean_incident_at(self):
        return _clean_with(self, "incident_at", plausible_incident_at)


class ChildForm(forms.ModelForm):
    """One child of the referral."""

    class Meta:
        model = Child
        fields = CHILD_FIELDS
        widgets = {"date_of_birth": _birth_date_input()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_of_birth"].widget.attrs["max"] = timezone.localdate().isoformat()
        self.fields["sex"].required = False
        _accept_german_dates(self, "date_of_birth")
        _mark_submit_required(self, CHILD_SUBMIT_REQUIRED)

    def clean_date_of_birth(self):
        return _clean_with(self, "date_of_birth", plausible_birth_date)

    def clean_sex(self):
        return self.cleaned_data.get("sex") or Child._meta.get_field("sex").default


class PersonForm(forms.ModelForm):
    """A parent, guardian, household member or suspect."""

    class Meta:
        model = Person
        fields = PERSON_FIELDS
        widgets = {"date_of_birth": _birth_date_input(), "phone": forms.TextInput(attrs={"type": "tel"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("Please choose")), *PersonRole.choices]
        self.fields["date_of_birth"].widget.attrs["max"] = timezone.localdate().isoformat()
        _accept_german_dates(self, "date_of_birth")
        _mark_submit_required(self, PERSON_SUBMIT_REQUIRED)

    def clean_date_of_birth(self):
        return _clean_with(self, "date_of_birth", plausible_birth_date)


MAX_BLOCKS = 30  # children or persons per referral


def _formset(form, *, extra):
    return forms.formset_factory(
        form, extra=extra, can_delete=True, max_num=MAX_BLOCKS, absolute_max=MAX_BLOCKS, validate_max=True
    )


@dataclass
class Block:
    """A child or person block as the page shows it: its form, its number among the blocks that are
    not removed, and whether it is removed (kept in the page, hidden, so indexes stay stable)."""

    form: forms.BaseForm
    number: int
    deleted: bool


@dataclass
class ErrorLink:
    """One line of the error summary at the top of the page."""

    target: str
    label: str
    message: str


def _is_deleted(form) -> bool:
    return bool(form.is_bound and form[DELETION_FIELD_NAME].data)


def _is_untouched_extra(form) -> bool:
    return form.empty_permitted and not form.has_changed()


class ReferralForms:
    """The whole referral page: the referral form and the formsets of children and persons.

    ``kept_children`` / ``kept_persons`` are the blocks that go to the service, in page order: not
    removed and not an untouched empty block. The service's error paths index into these lists.
    """

    def __init__(self, data=None, *, referral: Referral | None = None, filer=None):
        children = [{k: getattr(c, k) for k in CHILD_FIELDS} for c in referral.children.all()] if referral else []
        persons = [{k: getattr(p, k) for k in PERSON_FIELDS} for p in referral.persons.all()] if referral else []
        # The station the referral is filed for (from the membership, as the service takes it).
        self.station = filing_agency_for(filer) if filer is not None else None
        self.referral = ReferralForm(data, instance=referral or Referral(), initial=self._prefill(referral))
        # A new referral starts with one empty child block and no person block.
        self.children = _formset(ChildForm, extra=0 if children else 1)(data, initial=children, prefix="children")
        self.persons = _formset(PersonForm, extra=0)(data, initial=persons, prefix="persons")
        self.group_errors: dict[str, list[str]] = {}

    def _prefill(self, referral) -> dict:
        """A new referral starts with what is known without asking: the time of the incident (now,
        to be corrected) and the station's phone as the callback number. Nothing about the last
        referral is carried over (nothing personal is remembered between referrals)."""
        if referral is not None:
            return {}
        initial = {"incident_at": timezone.localtime().replace(second=0, microsecond=0)}
        if self.station is not None and self.station.phone:
            initial["callback_phone"] = self.station.phone
        return initial

    # --- validation -----------------------------------------------------------------------------

    def _parts(self):
        return (self.referral, self.children, self.persons)

    @property
    def kept_children(self):
        return self._kept(self.children)

    @property
    def kept_persons(self):
        return self._kept(self.persons)

    @staticmethod
    def _kept(formset):
        return [f for f in formset.forms if not _is_deleted(f) and not _is_untouched_extra(f)]

    def is_valid(self, *, submit: bool) -> bool:
        """Check formats. For a submission with format errors, also mark what a submission still
        lacks, so that the person sees every problem at once instead of one round after another."""
        valid = all([part.is_valid() for part in self._parts()])
        if not valid and submit:
            self.add_errors(submission_errors(**self._objects()), only_where_clean=True)
        return valid and not self.group_errors

    def service_args(self) -> dict:
        data = self.referral.cleaned_data
        return {
            "fields": {name: data.get(name) for name in REFERRAL_FIELDS},
            "children": [{k: f.cleaned_data.get(k) for k in CHILD_FIELDS} for f in self.kept_children],
            "persons": [{k: f.cleaned_data.get(k) for k in PERSON_FIELDS} for f in self.kept_persons],
        }

    def _objects(self) -> dict:
        """Unsaved model objects from what parsed cleanly, for ``submission_errors``."""
        referral = Referral()
        for name, value in self.referral.cleaned_data.items():
            if value is not None or name in ("incident_at", "parents_informed"):
                setattr(referral, name, value)

        def build(model, names, formset_forms):
            rows = [{k: f.cleaned_data[k] for k in names if f.cleaned_data.get(k) is not None} for f in formset_forms]
            return [model(**row) for row in rows]

        return {
            "referral": referral,
            "children": build(Child, CHILD_FIELDS, self.kept_children),
            "persons": build(Person, PERSON_FIELDS, self.kept_persons),
        }

    def add_service_errors(self, exc) -> None:
        self.add_errors(exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages})

    def add_errors(self, errors: dict[str, list[str]], *, only_where_clean: bool = False) -> None:
        """Put errors keyed by field path onto the form field they concern: ``name`` (referral),
        ``children`` (the list as a whole), ``children.<n>.<name>`` (n-th kept child block)."""
        groups = {"children": self.kept_children, "persons": self.kept_persons}
        for path, messages in errors.items():
            head, _sep, rest = path.partition(".")
            if head in groups:
                index, _sep, name = rest.partition(".")
                blocks = groups[head]
                if index.isdigit() and int(index) < len(blocks):
                    self._add(blocks[int(index)], name, messages, only_where_clean)
                else:  # about the list as a whole ("Add at least one child.")
                    self.group_errors.setdefault(head, []).extend(messages)
                continue
            self._add(self.referral, path, messages, only_where_clean)

    @staticmethod
    def _add(form, name, messages, only_where_clean):
        target = name if name in form.fields else None  # unknown paths become non-field errors
        if only_where_clean and target and target in form.errors:
            return
        for message in messages:
            form.add_error(target, message)

    # --- presentation ---------------------------------------------------------------------------

    def sections(self) -> list["Section"]:
        """The page in order: sections of referral fields, with the children and persons between."""
        result = []
        for key, title, names in SECTIONS:
            if key in ("children", "persons"):
                formset = getattr(self, key)
                errors = [*formset.non_form_errors(), *self.group_errors.get(key, [])] if formset.is_bound else []
                result.append(Section(key, title, blocks=self._blocks(formset), errors=errors))
            else:
                result.append(Section(key, title, fields=[self.referral[name] for name in names]))
        return result

    @staticmethod
    def _blocks(formset):
        blocks, number = [], 0
        for form in formset.forms:
            deleted = _is_deleted(form)
            if not deleted:
                number += 1
            blocks.append(Block(form=form, number=number, deleted=deleted))
        return blocks

    def error_summary(self) -> list[ErrorLink]:
        """Every error on the page with a link to its field, in page order."""
        if not self.referral.is_bound:
            return []
        links = [ErrorLink("referral-form", "", m) for m in self.referral.non_field_errors()]
        for section in self.sections():
            if section.blocks is None:
                links += _field_links(section.fields, "")
                continue
            for message in section.errors:
                links.append(ErrorLink(f"{section.key}-section", str(section.title), message))
            for block in section.blocks:
                if block.deleted:
                    continue
                label = str(BLOCK_TITLES[section.key] % {"number": block.number})
                links += [ErrorLink(f"{block.form.prefix}-block", label, m) for m in block.form.non_field_errors()]
                fields = [block.form[name] for name in block.form.fields if name != DELETION_FIELD_NAME]
                links += _field_links(fields, f"{label} – ")
        return links


# The page layout: (key, title, referral fields). "children" and "persons" are the two formsets.
SECTIONS = (
    ("case", _("Case"), ("police_case_number", "callback_phone", "urgency")),
    ("incident", _("Operation"), ("incident_at", "incident_location", "callout_reason", "concerns")),
    ("facts", _("Facts"), ("facts_observed", "facts_reported", "children_present", "injuries", "home_condition")),
    ("household", _("Household address"), ("household_street", "household_house_number", "household_postcode",
                                           "household_city")),
    ("children", _("Children"), ()),
    ("persons", _("Parents, guardians and other persons"), ()),
    ("measures", _("Police measures and risk factors"), ("police_measures", "residence_ban_until", "risk_factors",
                                                               "risk_notes")),
    ("parents", _("Information of the parents"), ("parents_informed", "parents_not_informed_reason")),
)  # fmt: skip
BLOCK_TITLES = {"children": _("Child %(number)s"), "persons": _("Person %(number)s")}


@dataclass
class Section:
    key: str
    title: str
    fields: list | None = None
    blocks: list[Block] | None = None
    errors: list[str] = field(default_factory=list)


def _field_links(bound_fields, prefix: str) -> list[ErrorLink]:
    links = []
    for bound in bound_fields:
        # A group of radio buttons or checkboxes is reached through its first option.
        target = bound.auto_id + ("_0" if bound.field.widget.use_fieldset else "")
        links += [ErrorLink(target, prefix + str(bound.label), message) for message in bound.errors]
    return links


class AssignOfficeForm(forms.Form):
    """The district coordinator's choice of the youth office for a referral in the triage queue."""

    office = forms.ModelChoiceField(
        label=_("Youth office"),
        queryset=Agency.objects.youth_offices().order_by("name"),
        empty_label=_("Please choose"),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)  # the second POST, after asking


# --- Casework (§ 8a SGB VIII) ------------------------------------------------------------------------
# Each action of the detail page is its own small form posting to its own URL. Every one carries the
# referral's ``version`` (hidden), passed to the service as ``expected_version``: a second writer gets
# a conflict instead of overwriting. The forms parse only; the services decide what is allowed.

STALE_FORM = _("The form was incomplete. Reload the page and try again.")
REASON_LIMIT = 2_000  # a reason is a few sentences; it is kept in the referral's history


def _reason_field(label=None, help_text=""):
    return forms.CharField(
        label=label or _("Reason"),
        max_length=REASON_LIMIT,
        widget=_textarea(3),
        help_text=help_text,
    )


class CaseworkForm(forms.Form):
    """Base of the action forms: the hidden version. ``auto_id`` is per form (``<key>_<field>``), so
    several forms on one page never share an element id."""

    key = "action"
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": STALE_FORM,
            "invalid": STALE_FORM,
            "min_value": STALE_FORM,
        },
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.key}_%s")
        super().__init__(*args, **kwargs)


class AcknowledgeForm(CaseworkForm):
    key = "acknowledge"


class ConfirmedForm(CaseworkForm):
    """An action that cannot be undone from the page: sent once without ``confirm`` (the page asks
    for confirmation, ``referrals/confirm_action.html``), then with it."""

    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class AcceptForm(ConfirmedForm):
    key = "accept"


class SignOffForm(ConfirmedForm):
    key = "sign_off"


class TakeOverForm(CaseworkForm):
    """A caseworker's "take over" button: posts to the assign URL with their own id as assignee."""

    key = "take_over"


class CloseForm(ConfirmedForm):
    key = "close"


def office_people(office_ids, *, include_user=None):
    """Active caseworkers and leads of the given offices (and ``include_user``), for the assignee
    select: one query when the select is rendered."""
    members = Q(
        memberships__agency_id__in=list(office_ids),
        memberships__agency__is_active=True,
        memberships__role__in=OFFICE_ROLES,
    )
    if include_user is not None:
        members |= Q(pk=include_user.pk)
    return (
        get_user_model()
        .objects.filter(members, is_active=True)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class AssignForm(CaseworkForm):
    """The lead's choice of the caseworker (or lead) of the office; a caseworker's "take over" sends
    their own id."""

    key = "assign"
    assignee = PersonChoiceField(label=_("Caseworker"), queryset=None, empty_label=_("Please choose"))

    def __init__(self, *args, office_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = office_people(office_ids)


class RerateForm(CaseworkForm):
    key = "rerate"
    urgency = forms.ChoiceField(label=_("New urgency"), choices=Urgency.choices, widget=forms.RadioSelect)
    reason = _reason_field(help_text=_("Why the urgency changes. It is kept in the history of the case."))


class ForwardForm(CaseworkForm):
    """Hand the case to another youth office (Abgabe, § 8a Abs. 6 SGB VIII). Sent once without
    ``confirm`` (the page asks for confirmation), then with it."""

    key = "forward"
    to_office = forms.ModelChoiceField(
        label=_("Responsible youth office"), queryset=Agency.objects.none(), empty_label=_("Please choose")
    )
    reason = _reason_field(help_text=_("Why the other office is responsible, e.g. the family's habitual residence."))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, own_office_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_office"].queryset = Agency.objects.youth_offices().exclude(pk=own_office_id).order_by("name")


class ReturnForm(ConfirmedForm):
    key = "return"
    reason = _reason_field(help_text=_("Why your office is not responsible. The sending office sees the reason."))


class ReopenForm(CaseworkForm):
    key = "reopen"
    reason = _reason_field(
        help_text=_("The case needs a new signed-off risk assessment before it can be closed again.")
    )


class ExportForm(CaseworkForm):
    key = "export"
    recipient = forms.CharField(
        label=_("Receiving office outside the system"),
        max_length=300,
        help_text=_("E.g. the youth office of another district. The hand-over is recorded and the case closed here."),
    )


def measure_choices():
    """The measures of an assessment. "None" gets a label of its own: the bare msgid "None" is
    Django's and translates to "-"."""
    return [(value, _("No measure") if value == Measure.NONE else label) for value, label in Measure.choices]


class AssessmentForm(CaseworkForm):
    """The § 8a risk assessment. Complete only once a second professional signs it off."""

    key = "assessment"
    summary = forms.CharField(
        label=_("Summary of the risk assessment"),
        max_length=TEXT_LIMIT,
        widget=_textarea(8),
        help_text=_("Who took part, what was found, how the child's situation is assessed."),
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=(), widget=forms.RadioSelect)
    measures = forms.MultipleChoiceField(
        label=_("Measures"), choices=(), widget=forms.CheckboxSelectMultiple, help_text=_("Choose all that apply.")
    )
    home_visit_on = forms.DateField(
        label=_("Home visit on"),
        required=False,
        widget=_date_input(),
        input_formats=DATE_INPUT_FORMATS,
        help_text=_("Leave empty if there was no home visit."),
    )
    child_seen = forms.BooleanField(label=_("The child was seen"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = Outcome.choices
        self.fields["measures"].choices = measure_choices()
        self.fields["home_visit_on"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_measures(self):
        measures = self.cleaned_data["measures"]
        if "none" in measures and len(measures) > 1:
            raise forms.ValidationError(_("Choose “No measure” only on its own."))
        return measures

    @classmethod
    def initial_from(cls, assessment) -> dict:
        if assessment is None:
            return {}
        return {
            "summary": assessment.summary,
            "outcome": assessment.outcome,
            "measures": assessment.measures,
            "home_visit_on": assessment.home_visit_on,
            "child_seen": assessment.child_seen,
        }


CONFIDENTIAL_HELP = _("Data confided under § 65 SGB VIII is never forwarded to another office or exported.")


class NoteForm(forms.Form):
    key = "note"
    text = forms.CharField(label=_("Note"), max_length=TEXT_LIMIT, widget=_textarea(4))
    confidential = forms.BooleanField(
        label=_("Confided under § 65 SGB VIII"), required=False, help_text=CONFIDENTIAL_HELP
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)


class AttachmentForm(forms.Form):
    key = "attachment"
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
        help_text=_("PDF, PNG or JPEG, at most %(mb)d MB."),
    )
    confidential = forms.BooleanField(
        label=_("Confided under § 65 SGB VIII"), required=False, help_text=CONFIDENTIAL_HELP
    )

    def __init__(self, *args, max_bytes: int = 0, **kwargs):
        kwargs.setdefault("auto_id", "attachment_%s")
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = self.fields["file"].help_text % {"mb": max_bytes // (1024 * 1024)}


class FollowUpForm(forms.Form):
    """A police follow-up (Nachtrag): new incident or new facts."""

    key = "followup"

    text = forms.CharField(
        label=_("Follow-up"),
        max_length=TEXT_LIMIT,
        widget=_textarea(5),
        help_text=_("New facts or a new incident. The youth office sees it in the history of the case."),
    )
    incident_at = forms.DateTimeField(
        label=_("Date and time of the new incident"),
        required=False,
        input_formats=DATETIME_INPUT_FORMATS,
        widget=forms.DateTimeInput(format=DATETIME_FORMAT, attrs={"type": "datetime-local", **GERMAN_DATE}),
        help_text=_("Only if there was a new incident."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "followup_%s")
        super().__init__(*args, **kwargs)

    def clean_incident_at(self):
        return _clean_with(self, "incident_at", plausible_incident_at)


# --- Inbox ---------------------------------------------------------------------------------------


class InboxTab:
    OPEN = "open"
    MINE = "mine"
    UNASSIGNED = "unassigned"
    OVERDUE = "overdue"
    SCREENING = "screening"  # issue 13 §1: acknowledged, the screening still to record or sign off
    ASSESSMENT = "assessment"  # in the § 8a risk assessment
    CLOSED = "closed"
    ALL = "all"


INBOX_TABS = (
    (InboxTab.OPEN, _("Open")),
    (InboxTab.MINE, _("Assigned to me")),
    (InboxTab.UNASSIGNED, _("Unassigned")),
    (InboxTab.OVERDUE, _("Overdue")),
    (InboxTab.SCREENING, _("In screening")),
    (InboxTab.ASSESSMENT, _("In risk assessment")),
    (InboxTab.CLOSED, _("Closed")),
    (InboxTab.ALL, _("All")),
)

# Sort key → keyset ordering. Every ordering ends in the unique id (keyset pagination); the
# ``inbox_*`` names are annotations of the inbox queryset that are never NULL.
INBOX_SORTS = {
    "urgency": (_("Most urgent first"), ["urgency_rank", "submitted_at", "id"]),
    "due": (_("Deadline, earliest first"), ["inbox_due", "id"]),
    "newest": (_("Received, newest first"), ["-inbox_received", "-id"]),
    "oldest": (_("Received, oldest first"), ["inbox_received", "id"]),
}


class InboxFilterForm(forms.Form):
    """Search, filters, tab and sorting of the inbox (GET). Invalid values are ignored and shown."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        help_text=_("Reference, police case number or a child's name"),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    tab = forms.ChoiceField(choices=INBOX_TABS, required=False, widget=forms.HiddenInput)
    # A figure of the dashboard (``referrals.dashboard.figure_q``): the inbox shows exactly its cases.
    figure = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    status = forms.ChoiceField(label=_("Status"), required=False)
    urgency = forms.ChoiceField(label=_("Urgency"), required=False)
    concern = forms.ChoiceField(label=_("Concern"), required=False)
    received_from = forms.DateField(
        label=_("Received from"), required=False, widget=_date_input(), input_formats=DATE_INPUT_FORMATS
    )
    received_to = forms.DateField(
        label=_("Received until"), required=False, widget=_date_input(), input_formats=DATE_INPUT_FORMATS
    )
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False, choices=[(key, label) for key, (label, _o) in INBOX_SORTS.items()]
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        any_choice = [("", _("Any"))]
        office_statuses = [c for c in Status.choices if c[0] not in (Status.DRAFT, Status.TRIAGE)]
        self.fields["status"].choices = any_choice + office_statuses
        self.fields["urgency"].choices = any_choice + list(Urgency.choices)
        self.fields["concern"].choices = any_choice + list(Concern.choices)

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", _("The end of the range lies before its start."))
        return data

    def value(self, name: str, default: Any = "") -> Any:
        """The cleaned value of a field, or ``default`` when it is empty or invalid."""
        self.is_valid()  # cleans once; invalid fields are missing from cleaned_data
        return self.cleaned_data.get(name) or default

    @property
    def current_tab(self) -> str:
        return self.value("tab", InboxTab.OPEN)

    @property
    def current_sort(self) -> str:
        return self.value("sort", "urgency")

    @property
    def ordering(self) -> list[str]:
        return INBOX_SORTS[self.current_sort][1]

    @property
    def has_filters(self) -> bool:
        return any(
            self.value(name) for name in ("q", "status", "urgency", "concern", "received_from", "received_to", "figure")
        )


class BulkAssignForm(forms.Form):
    """Assign every checked referral of the inbox to one person: all or nothing."""

    assignee = PersonChoiceField(label=_("Assign to"), queryset=None, empty_label=_("Please choose"))

    def __init__(self, *args, people=None, **kwargs):
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = people


class RetentionRuleForm(forms.Form):
    """A new retention rule for one of ``offices`` (the offices whose rules the person sets). A
    coordination office keeps only what it handed over: it is offered that outcome alone when it is all
    there is."""

    office = forms.ModelChoiceField(label=_("Youth office"), queryset=Agency.objects.none(), empty_label=None)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=())
    keep_days = forms.IntegerField(label=_("Keep for (days after closing)"), min_value=1, max_value=MAX_RETENTION_DAYS)
    valid_from = forms.DateField(
        label=_("Applies from"),
        widget=_date_input(),
        input_formats=DATE_INPUT_FORMATS,
        help_text=_("Tomorrow at the earliest: a rule never applies retroactively."),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)  # after the dry run was shown

    def __init__(self, *args, offices, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = {office.kind for office in offices}
        youth_offices = AgencyKind.YOUTH_OFFICE in kinds
        office = self.fields["office"]
        office.queryset = offices
        if AgencyKind.COORDINATION in kinds:
            office.label = _("Youth office or coordination office") if youth_offices else _("Coordination office")
        handed_over = RetentionOutcome.HANDED_OVER
        self.fields["outcome"].choices = (
            RetentionOutcome.choices if youth_offices else [(handed_over.value, handed_over.label)]
        )


class PersonAndAgencyChoiceField(PersonChoiceField):
    """A person with their agencies ("Anna Schmidt – Polizeiwache Velbert"): two people of one name at
    different agencies must not look alike where case access is given (QA of 2026-12-05). The queryset
    prefetches ``memberships__agency``."""

    def label_from_instance(self, obj):
        name = super().label_from_instance(obj)
        agencies = sorted({m.agency.name for m in obj.memberships.all()})
        return f"{name} – {', '.join(agencies)}" if agencies else name


class GrantForm(forms.Form):
    """An office lead lets a named person of another agency read one case (``referrals.grants``)."""

    person = PersonAndAgencyChoiceField(label=_("Person"), queryset=None, empty_label=_("Please choose"))
    reason = _reason_field(
        help_text=_("Why this person needs to read the case. It is kept in the history of the case.")
    )
    expires_on = forms.DateField(
        label=_("Access until (inclusive)"),
        widget=_date_input(),
        input_formats=DATE_INPUT_FORMATS,
        help_text=_("At most 90 days ahead. Access ends earlier if you revoke it."),
    )

    def __init__(self, *args, people, **kwargs):
        kwargs.setdefault("auto_id", "grant_%s")
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people
