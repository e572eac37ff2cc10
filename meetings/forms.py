"""Forms of the cooperation pages. They parse and check formats only; who may do what and what is
possible in which state is the business of ``meetings.services``, whose ``ValidationError`` (keyed by
the service's argument names) ``show_service_errors`` puts next to the fields they concern."""

import datetime
import re
from dataclasses import dataclass
from types import SimpleNamespace

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import OFFICE_ROLES, POLICE_ROLES, Agency, AgencyKind, Membership
from core.dates import DATE_FORMAT, DATE_INPUT_FORMATS, DATETIME_FORMAT, DATETIME_INPUT_FORMATS, GERMAN_DATE

from .models import TEXT_LIMIT, Audience
from .services import rrule_problem, series_preview, visit_day_problem

REASON_LIMIT = 2_000
WISHED_DATES = 3

# Cadence presets of a series: (key, label, RFC 5545 RRULE). "custom" takes the free RRULE field.
CADENCES = (
    ("quarterly_2tu", _("Quarterly on the 2nd Tuesday"), "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"),
    ("quarterly_1we", _("Quarterly on the 1st Wednesday"), "FREQ=MONTHLY;INTERVAL=3;BYDAY=1WE"),
    ("quarterly_3th", _("Quarterly on the 3rd Thursday"), "FREQ=MONTHLY;INTERVAL=3;BYDAY=3TH"),
    ("monthly_2tu", _("Monthly on the 2nd Tuesday"), "FREQ=MONTHLY;BYDAY=2TU"),
    ("bimonthly_2tu", _("Every two months on the 2nd Tuesday"), "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU"),
    ("halfyearly_2tu", _("Every six months on the 2nd Tuesday"), "FREQ=MONTHLY;INTERVAL=6;BYDAY=2TU"),
)
CUSTOM_CADENCE = "custom"
CADENCE_RRULES = {key: rule for key, _label, rule in CADENCES}
# A cadence put together from three choices (issue 16 § 5): every N months, in the nth week, on a
# weekday — stored as the RRULE it gives (FREQ=MONTHLY;INTERVAL=N;BYDAY=<nth><day>).
BUILT_CADENCE = "built"
CADENCE_EVERY = (
    ("1", _("monthly")), ("2", _("every two months")), ("3", _("quarterly")), ("6", _("every six months")),
    ("12", _("yearly")),
)  # fmt: skip
CADENCE_WEEK = (("1", _("1st")), ("2", _("2nd")), ("3", _("3rd")), ("4", _("4th")), ("-1", _("last")))
CADENCE_WEEKDAY = (
    ("MO", _("Monday")), ("TU", _("Tuesday")), ("WE", _("Wednesday")), ("TH", _("Thursday")), ("FR", _("Friday")),
)  # fmt: skip
CADENCE_INPUTS = ("cadence", "rrule", "first_start", "cadence_every", "cadence_week", "cadence_weekday")
BUILT_RRULE = re.compile(r"^FREQ=MONTHLY(?:;INTERVAL=(1|2|3|6|12))?;BYDAY=(1|2|3|4|-1)(MO|TU|WE|TH|FR)$")


def built_rrule(every, week, weekday) -> str | None:
    """The RRULE of the three choices, or None while one is missing or not offered."""
    if every not in dict(CADENCE_EVERY) or week not in dict(CADENCE_WEEK) or weekday not in dict(CADENCE_WEEKDAY):
        return None
    interval = "" if every == "1" else f";INTERVAL={every}"
    return f"FREQ=MONTHLY{interval};BYDAY={week}{weekday}"


def _date_input(**attrs):
    return forms.DateInput(format=DATE_FORMAT, attrs={"type": "date", **GERMAN_DATE, **attrs})


def _datetime_input(**attrs):
    return forms.DateTimeInput(format=DATETIME_FORMAT, attrs={"type": "datetime-local", **GERMAN_DATE, **attrs})


def _date_field(label, **kwargs):
    return forms.DateField(label=label, input_formats=DATE_INPUT_FORMATS, widget=_date_input(), **kwargs)


def _datetime_field(label, **kwargs):
    return forms.DateTimeField(label=label, input_formats=DATETIME_INPUT_FORMATS, widget=_datetime_input(), **kwargs)


# type="text" with the URL keyboard: the stylesheet's text-input look, and no browser check that
# would pre-empt the error message of the page.
URL_INPUT = forms.TextInput(attrs={"inputmode": "url", "autocomplete": "url", "spellcheck": "false"})


def _textarea(rows=4):
    return forms.Textarea(attrs={"rows": rows})


def person_name(user) -> str:
    return user.get_full_name() or user.get_username()


class PersonChoiceField(forms.ModelChoiceField):
    """A person shown by name only (never the username's e-mail or anything else)."""

    def label_from_instance(self, obj):
        return person_name(obj)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return person_name(obj)


def people_of(agency_ids):
    """Active people with an active membership in one of ``agency_ids``, by name."""
    return (
        get_user_model()
        .objects.filter(
            memberships__agency_id__in=list(agency_ids), memberships__agency__is_active=True, is_active=True
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


@dataclass
class ErrorLink:
    """One line of the error summary at the top of the page."""

    target: str
    label: str
    message: str


def error_summary(form) -> list[ErrorLink]:
    """Every error of a bound form with a link to its field, in field order."""
    if not form.is_bound:
        return []
    links = [ErrorLink(f"{form.prefix or 'form'}-errors", "", m) for m in form.non_field_errors()]
    for bound in form:
        if bound.is_hidden:
            links += [ErrorLink(f"{form.prefix or 'form'}-errors", "", m) for m in bound.errors]
            continue
        # A group of radio buttons or checkboxes is reached through its first option.
        target = getattr(form, "error_targets", {}).get(bound.name) or (
            bound.auto_id + ("_0" if bound.field.widget.use_fieldset else "")
        )
        links += [ErrorLink(target, str(bound.label), m) for m in bound.errors]
    return links


def show_service_errors(form, exc: ValidationError, *, aliases=None) -> None:
    """Put a service's refusal next to the field it concerns (``aliases`` maps the service's argument
    name to the form's field name), or on top of the form. The form keeps everything typed."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    aliases = aliases or {}
    for name, texts in errors.items():
        name = aliases.get(name, name)
        target = name if name in form.fields and not form.fields[name].widget.is_hidden else None
        for text in texts:
            form.add_error(target, text)


# --- Meeting series ---------------------------------------------------------------------------------


class SeriesForm(forms.Form):
    """A series of liaison meetings as the coordinator sets it up: the agencies, the people invited
    (only people of those agencies), the cadence (a preset or a free RRULE), first date and place."""

    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("e.g. “Polizei – Jugendamt Velbert, Sachbearbeiter-Ebene”"),
    )
    agencies = forms.ModelMultipleChoiceField(
        label=_("Participating agencies"), queryset=Agency.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    invitees = PeopleChoiceField(
        label=_("Invited people"),
        queryset=get_user_model().objects.none(),
        help_text=_("Only people of the participating agencies can be invited; they are grouped by agency."),
    )
    cadence = forms.ChoiceField(
        label=_("Cadence"),
        choices=[
            *((k, label) for k, label, _rule in CADENCES),
            (BUILT_CADENCE, _("Choose rhythm, week and weekday")),
            (CUSTOM_CADENCE, _("Other cadence (RRULE below)")),
        ],
        initial="quarterly_2tu",
    )
    cadence_every = forms.ChoiceField(label=_("Rhythm"), choices=CADENCE_EVERY, required=False, initial="3")
    cadence_week = forms.ChoiceField(label=_("Week of the month"), choices=CADENCE_WEEK, required=False, initial="2")
    cadence_weekday = forms.ChoiceField(label=_("Weekday"), choices=CADENCE_WEEKDAY, required=False, initial="TU")
    rrule = forms.CharField(
        label=_("Cadence as RRULE"),
        max_length=300,
        required=False,
        help_text=_("Only for “Other cadence”: an RFC 5545 rule, e.g. FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "characters"}),
    )
    first_start = _datetime_field(
        _("First meeting"), help_text=_("Date and time of the first meeting; later dates follow the cadence.")
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"),
        min_value=15,
        max_value=600,
        initial=90,
        widget=forms.NumberInput(attrs={"step": 15}),
    )
    location = forms.CharField(label=_("Place"), max_length=300, required=False)
    video_link = forms.URLField(label=_("Video link"), required=False, assume_scheme="https", widget=URL_INPUT)

    error_targets = {"invitees": "invitees-fieldset"}

    def __init__(self, *args, district_ids=(), series=None, preview_data=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.preview_data = preview_data
        agencies = Agency.objects.filter(district_id__in=list(district_ids), is_active=True).order_by("kind", "name")
        self.fields["agencies"].queryset = agencies
        self.fields["invitees"].queryset = people_of(agencies.values_list("pk", flat=True))
        self._memberships = list(
            Membership.objects.active()
            .filter(agency__in=agencies)
            .select_related("user", "agency")
            .order_by("agency__kind", "agency__name", "user__last_name", "user__first_name", "user__username")
        )
        self.series = series

    def _selected(self, name) -> set[str]:
        if self.is_bound:
            return {str(v) for v in self.data.getlist(name)} if hasattr(self.data, "getlist") else set()
        initial = self.initial.get(name) or []
        return {str(getattr(v, "pk", v)) for v in initial}

    def invitee_groups(self) -> list[SimpleNamespace]:
        """The invitee checkboxes grouped by agency (the page shows only the groups of the chosen
        agencies); a person of two agencies appears in both groups."""
        chosen = self._selected("invitees")
        chosen_agencies = self._selected("agencies")
        groups: dict[int, SimpleNamespace] = {}
        for membership in self._memberships:
            agency = membership.agency
            group = groups.setdefault(
                agency.pk,
                SimpleNamespace(agency=agency, people=[], seen=set(), selected=str(agency.pk) in chosen_agencies),
            )
            if membership.user_id in group.seen:
                continue
            group.seen.add(membership.user_id)
            group.people.append(
                SimpleNamespace(
                    id=membership.user_id,
                    name=person_name(membership.user),
                    role=membership.get_role_display(),
                    checked=str(membership.user_id) in chosen,
                    input_id=f"id_invitees_{agency.pk}_{membership.user_id}",
                )
            )
        return list(groups.values())

    def _cadence_input(self) -> tuple[str | None, datetime.datetime | None]:
        """The rule and the first date as entered (posted, fetched by the form's script, or the
        series' own), each None while missing or malformed."""
        if self.is_bound or self.preview_data is not None:
            data = self.data if self.is_bound else self.preview_data
            raw = {name: self.fields[name].widget.value_from_datadict(data, {}, self.add_prefix(name))
                   for name in CADENCE_INPUTS}  # fmt: skip
        else:
            raw = {name: self.initial.get(name) for name in CADENCE_INPUTS}
        try:
            first_start = self.fields["first_start"].clean(raw["first_start"])
        except ValidationError:
            first_start = None
        cadence = raw["cadence"] or self.fields["cadence"].initial
        if cadence == CUSTOM_CADENCE:
            rule = (raw["rrule"] or "").strip().upper().removeprefix("RRULE:") or None
        elif cadence == BUILT_CADENCE:
            rule = built_rrule(raw["cadence_every"], raw["cadence_week"], raw["cadence_weekday"])
        else:
            rule = CADENCE_RRULES.get(cadence)
        return rule, first_start

    def cadence_preview(self) -> dict:
        """What the page shows under the cadence before anything is saved: the next dates
        (``meetings.services.series_preview``), or why the rule gives none; template context."""
        rule, first_start = self._cadence_input()
        context = {"preview": None, "preview_problem": None, "preview_first_start": first_start, "preview_rule": rule}
        if rule and first_start:
            try:
                context["preview"] = series_preview(rrule=rule, first_start=first_start)
            except ValidationError as exc:
                context["preview_problem"] = " ".join(exc.messages)
        return context

    def clean_rrule(self):
        return self.cleaned_data["rrule"].strip().upper().removeprefix("RRULE:")

    def clean(self):
        data = super().clean()
        cadence = data.get("cadence")
        if cadence == CUSTOM_CADENCE:
            rule = data.get("rrule", "")
            if not rule:
                self.add_error("rrule", _("Enter the cadence as an RRULE, or choose a preset."))
            else:
                problem = rrule_problem(rule, data.get("first_start"))
                if problem:
                    self.add_error("rrule", problem)
                else:
                    data["rule"] = rule
        elif cadence == BUILT_CADENCE:
            rule = built_rrule(data.get("cadence_every"), data.get("cadence_week"), data.get("cadence_weekday"))
            if rule is None:
                self.add_error("cadence_weekday", _("Choose rhythm, week and weekday."))
            else:
                data["rule"] = rule
        elif cadence:
            data["rule"] = CADENCE_RRULES[cadence]
        return data

    def service_args(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "agencies": list(data["agencies"]),
            "invitees": list(data["invitees"]),
            "rrule": data["rule"],
            "first_start": data["first_start"],
            "duration_minutes": data["duration_minutes"],
            "location": data["location"],
            "video_link": data["video_link"],
        }

    @staticmethod
    def initial_from(series) -> dict:
        cadence = next((k for k, rule in CADENCE_RRULES.items() if rule == series.rrule), CUSTOM_CADENCE)
        built = BUILT_RRULE.match(series.rrule) if cadence == CUSTOM_CADENCE else None
        parts = {}
        if built:
            cadence = BUILT_CADENCE
            parts = {
                "cadence_every": built.group(1) or "1",
                "cadence_week": built.group(2),
                "cadence_weekday": built.group(3),
            }
        return {
            **parts,
            "title": series.title,
            "agencies": list(series.agencies.all()),
            "invitees": list(series.invitees.all()),
            "cadence": cadence,
            "rrule": series.rrule if cadence == CUSTOM_CADENCE else "",
            "first_start": timezone.localtime(series.first_start),
            "duration_minutes": series.duration_minutes,
            "location": series.location,
            "video_link": series.video_link,
        }


# --- Meetings -----------------------------------------------------------------------------------------


class _ActionForm(forms.Form):
    """Base of the small forms of the meeting page: ``auto_id`` is per form (``<key>_<field>``), so
    several forms on one page never share an element id."""

    key = "action"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.key}_%s")
        kwargs.setdefault("prefix", None)
        super().__init__(*args, **kwargs)


class MoveForm(_ActionForm):
    key = "move"
    start = _datetime_field(_("New start"))
    end = _datetime_field(_("New end"), required=False, help_text=_("Empty: the meeting keeps its current length."))
    location = forms.CharField(label=_("Place"), max_length=300, required=False)
    video_link = forms.URLField(label=_("Video link"), required=False, assume_scheme="https", widget=URL_INPUT)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end must be after the start."))
        return data


class CancelForm(_ActionForm):
    key = "cancel"
    reason = forms.CharField(
        label=_("Reason for the cancellation"),
        max_length=REASON_LIMIT,
        widget=_textarea(3),
        help_text=_("Every invited person is told the reason."),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class AgendaItemForm(_ActionForm):
    key = "agenda"
    title = forms.CharField(label=_("Topic"), max_length=200)
    notes = forms.CharField(
        label=_("Notes"),
        max_length=TEXT_LIMIT,
        required=False,
        widget=_textarea(3),
        help_text=_("Cases are discussed anonymised: no names, no addresses, no reference numbers."),
    )


class MinutesForm(_ActionForm):
    key = "minutes"
    minutes = forms.CharField(
        label=_("Minutes"),
        max_length=TEXT_LIMIT,
        required=False,
        widget=_textarea(10),
        help_text=_("Cases are discussed anonymised: no names, no addresses, no reference numbers."),
    )
    present = PeopleChoiceField(
        label=_("Present"),
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, invitees=None, **kwargs):
        super().__init__(*args, **kwargs)
        if invitees is not None:
            self.fields["present"].queryset = invitees


class ActionItemForm(_ActionForm):
    key = "action_item"
    title = forms.CharField(label=_("Action"), max_length=200)
    owner = PersonChoiceField(
        label=_("Owner"), queryset=get_user_model().objects.none(), empty_label=_("Please choose")
    )
    due_on = _date_field(_("Due on"))

    def __init__(self, *args, invitees=None, **kwargs):
        super().__init__(*args, **kwargs)
        if invitees is not None:
            self.fields["owner"].queryset = invitees


# --- Hospitations -------------------------------------------------------------------------------------


def other_side_agencies(user, memberships):
    """The agencies ``user`` may ask to shadow: police ask youth offices, youth offices ask police
    (authority or station), each within their own district."""
    districts = {m.agency.district_id for m in memberships}
    kinds = set()
    if any(m.role in POLICE_ROLES for m in memberships):
        kinds.add(AgencyKind.YOUTH_OFFICE)
    if any(m.role in OFFICE_ROLES for m in memberships):
        kinds |= {AgencyKind.POLICE_AUTHORITY, AgencyKind.POLICE_STATION}
    own = {m.agency_id for m in memberships}
    return (
        Agency.objects.filter(district_id__in=districts, kind__in=kinds, is_active=True)
        .exclude(pk__in=own)
        .order_by("kind", "name")
    )


class HospitationRequestForm(forms.Form):
    host_agency = forms.ModelChoiceField(
        label=_("Agency you would like to visit"), queryset=Agency.objects.none(), empty_label=_("Please choose")
    )
    wished_date_1 = _date_field(_("Wished date"))
    wished_date_2 = _date_field(_("Alternative date"), required=False)
    wished_date_3 = _date_field(_("Second alternative date"), required=False)
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=2000,
        widget=_textarea(4),
        help_text=_("What you would like to learn; which part of the work you would like to see."),
    )

    def __init__(self, *args, agencies=None, **kwargs):
        super().__init__(*args, **kwargs)
        if agencies is not None:
            self.fields["host_agency"].queryset = agencies
        tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
        for index in range(1, WISHED_DATES + 1):
            self.fields[f"wished_date_{index}"].widget.attrs["min"] = tomorrow

    def clean(self):
        """Each wished day checked at its own field (the service names only ``wished_dates``; QA of
        2026-12-05 saw a bad second alternative reported at the first, valid, date)."""
        cleaned = super().clean()
        for index in range(1, WISHED_DATES + 1):
            day = cleaned.get(f"wished_date_{index}")
            if day and (problem := visit_day_problem(day)):
                self.add_error(f"wished_date_{index}", problem)
        return cleaned

    def wished_dates(self) -> list[datetime.date]:
        dates = [self.cleaned_data.get(f"wished_date_{i}") for i in range(1, WISHED_DATES + 1)]
        return list(dict.fromkeys(d for d in dates if d))


class HospitationApproveForm(_ActionForm):
    key = "approve"
    date = _date_field(_("Date of the visit"))
    host_person = PersonChoiceField(
        label=_("Host person"), queryset=get_user_model().objects.none(), empty_label=_("Please choose")
    )

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["host_person"].queryset = people


class HospitationDeclineForm(_ActionForm):
    """Declining a request, or withdrawing an approval (``withdrawing``): the second asks to confirm
    first (``confirm``), as cancelling a meeting does — the date leaves two calendars."""

    key = "decline"
    reason = forms.CharField(
        label=_("Reason for declining"),
        max_length=REASON_LIMIT,
        widget=_textarea(3),
        help_text=_("The person who asked sees the reason."),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, withdrawing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if withdrawing:
            self.fields["reason"].label = _("Reason for withdrawing the approval")


class HospitationCompleteForm(_ActionForm):
    key = "complete"
    feedback = forms.CharField(
        label=_("Short feedback"),
        max_length=REASON_LIMIT,
        widget=_textarea(4),
        help_text=_("What was useful, what could be better. No personal data of families."),
    )


# --- Information events -------------------------------------------------------------------------------


class EventForm(forms.Form):
    host_agency = forms.ModelChoiceField(
        label=_("Host agency"), queryset=Agency.objects.none(), empty_label=_("Please choose")
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=TEXT_LIMIT, required=False, widget=_textarea(5))
    audience = forms.ChoiceField(
        label=_("Audience"), choices=Audience.choices, initial=Audience.BOTH, widget=forms.RadioSelect
    )
    start = _datetime_field(_("Start"))
    end = _datetime_field(_("End"))
    place = forms.CharField(label=_("Place"), max_length=300)
    capacity = forms.IntegerField(label=_("Seats"), min_value=1, max_value=10_000)
    registration_deadline = _datetime_field(_("Registration until"))

    def __init__(self, *args, agencies=None, **kwargs):
        super().__init__(*args, **kwargs)
        if agencies is not None:
            self.fields["host_agency"].queryset = agencies
            only = list(agencies[:2])
            if len(only) == 1 and not self.is_bound:
                self.initial.setdefault("host_agency", only[0].pk)

    def clean(self):
        data = super().clean()
        start, end, deadline = data.get("start"), data.get("end"), data.get("registration_deadline")
        if start and end and end <= start:
            self.add_error("end", _("The end must be after the start."))
        if start and deadline and deadline > start:
            self.add_error("registration_deadline", _("Registration must close before the event starts."))
        return data


# --- Calendar, report ---------------------------------------------------------------------------------


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


def year_choices(first=2023) -> list[int]:
    """Years of the agreement (signed 2023) up to the current one."""
    return list(range(timezone.localdate().year, first - 1, -1))


def parse_year(value, *, default=None) -> int:
    years = year_choices()
    try:
        year = int(value)
    except (TypeError, ValueError):
        return default or years[0]
    return year if year in years else (default or years[0])
