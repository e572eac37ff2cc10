"""The form of an agency's directory entry (Erreichbarkeiten): phones, mailboxes, office hours per
weekday as text ("08:00-12:00, 13:00-15:30") and named contact persons."""

import datetime
import re

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from .models import AgencyKind, ContactPerson, Weekday

phone_validator = RegexValidator(r"^[0-9 +()/\-]{3,40}$", _("Enter a phone number (digits, spaces, + ( ) / -)."))
SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_hours(text: str) -> list[tuple[datetime.time, datetime.time]]:
    """ "08:00-12:00, 13:00-15:30" → [(08:00, 12:00), (13:00, 15:30)]; empty text: closed."""
    spans = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        match = SPAN.match(part)
        if not match:
            raise forms.ValidationError(_("Enter office hours as 08:00-12:00, several separated by commas."))
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise forms.ValidationError(_("%(text)s is not a time of day.") % {"text": part.strip()})
        opens = datetime.time(h1, m1)
        closes = datetime.time(23, 59) if h2 == 24 else datetime.time(h2, m2)
        if closes <= opens:
            raise forms.ValidationError(_("The office must close after it opens (%(text)s).") % {"text": part.strip()})
        spans.append((opens, closes))
    spans.sort()
    for (_o1, c1), (o2, _c2) in zip(spans, spans[1:], strict=False):
        if o2 < c1:
            raise forms.ValidationError(_("The opening hours overlap."))
    return spans


def format_hours(spans) -> str:
    return ", ".join(f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in spans)


class AgencyContactForm(forms.Form):
    phone = forms.CharField(label=_("Office phone"), max_length=40, required=False, validators=[phone_validator])
    email = forms.EmailField(label=_("Functional mailbox"), required=False)
    oncall_phone = forms.CharField(
        label=_("On-call phone (Rufbereitschaft)"),
        max_length=40,
        required=False,
        validators=[phone_validator],
        help_text=_("Confidential: shown only to police and youth offices of the district, never in e-mails."),
    )
    oncall_email = forms.EmailField(
        label=_("On-call mailbox"),
        required=False,
        help_text=_("Receives the alerts for immediate referrals round the clock."),
    )
    clock_triage_hours = forms.IntegerField(
        label=_("Route immediate referrals from triage within (hours)"),
        min_value=1,
        max_value=24,
        required=False,
    )

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        for day in Weekday:
            self.fields[f"hours_{day.value}"] = forms.CharField(
                label=day.label, required=False, max_length=100, help_text=_("e.g. 08:00-12:00, 13:00-15:30")
            )
        if agency.kind != AgencyKind.COORDINATION:
            del self.fields["clock_triage_hours"]
        if agency.kind in (AgencyKind.YOUTH_OFFICE, AgencyKind.COORDINATION):
            self.fields["oncall_phone"].required = True
            self.fields["oncall_email"].required = True

    @classmethod
    def initial_for(cls, agency) -> dict:
        initial = {
            name: getattr(agency, name)
            for name in ("phone", "email", "oncall_phone", "oncall_email", "clock_triage_hours")
        }
        by_day: dict[int, list] = {}
        for row in agency.office_hours.all():
            by_day.setdefault(row.weekday, []).append((row.opens, row.closes))
        for day in Weekday:
            initial[f"hours_{day.value}"] = format_hours(by_day.get(day.value, []))
        return initial

    def clean(self):
        data = super().clean()
        hours = {}
        for day in Weekday:
            name = f"hours_{day.value}"
            try:
                hours[day.value] = parse_hours(self.data.get(self.add_prefix(name), ""))
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        data["hours"] = hours
        return data

    def weekday_fields(self):
        return [self[f"hours_{day.value}"] for day in Weekday]


class ContactPersonForm(forms.ModelForm):
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False, validators=[phone_validator])

    class Meta:
        model = ContactPerson
        fields = ["name", "function", "phone", "email"]

    def clean(self):
        data = super().clean()
        if not data.get("name") and any(data.get(k) for k in ("function", "phone", "email")):
            self.add_error("name", _("Name the contact person."))
        if data.get("name") and not (data.get("phone") or data.get("email")):
            self.add_error("phone", _("Give a phone number or an e-mail address."))
        return data


ContactPersonFormSet = forms.inlineformset_factory(
    parent_model=ContactPerson._meta.get_field("agency").related_model,
    model=ContactPerson,
    form=ContactPersonForm,
    extra=2,
    can_delete=True,
    max_num=20,
)
