"""German dates on the casework forms too (issue 16 § 1): where the browser has no picker, the field is
plain text and static/js/german-dates.js asks for "21.11.2026 23:40"; every date field it marks
(``data-german-date``) must accept that, whatever the page's language, and the picker's ISO format."""

import datetime
import inspect

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from agencies.models import Agency
from referrals import forms as referral_forms
from referrals.forms import (
    AssessmentForm,
    ChildForm,
    FollowUpForm,
    GrantForm,
    InboxFilterForm,
    ReferralForm,
    RetentionRuleForm,
)

pytestmark = pytest.mark.django_db


def forms_with_dates():
    people = get_user_model().objects.none()
    return [
        (ReferralForm(), "incident_at"),
        (ChildForm(), "date_of_birth"),
        (AssessmentForm(), "home_visit_on"),
        (FollowUpForm(), "incident_at"),
        (InboxFilterForm(), "received_from"),
        (InboxFilterForm(), "received_to"),
        (RetentionRuleForm(offices=Agency.objects.none()), "valid_from"),
        (GrantForm(people=people), "expires_on"),
    ]


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_marked_date_field_takes_german_dates(language):
    with translation.override(language):
        for form, name in forms_with_dates():
            field = form.fields[name]
            assert "data-german-date" in str(form[name]), name
            if name == "incident_at":
                for typed in ("21.11.2026 23:40", "2026-11-21T23:40"):
                    value = timezone.localtime(field.clean(typed))
                    assert value.strftime("%Y-%m-%d %H:%M") == "2026-11-21 23:40", (name, typed)
            else:
                for typed in ("21.11.2026", "2026-11-21"):
                    assert field.to_python(typed) == datetime.date(2026, 11, 21), (name, typed)


def marked_fields():
    """Every date field of every form of referrals.forms that the script turns into a German text field."""
    people = get_user_model().objects.none()
    arguments = {"offices": Agency.objects.none(), "people": people}
    for _name, cls in inspect.getmembers(referral_forms, inspect.isclass):
        if not issubclass(cls, forms.BaseForm) or cls.__module__ != referral_forms.__name__:
            continue
        wanted = inspect.signature(cls.__init__).parameters
        form = cls(**{k: v for k, v in arguments.items() if k in wanted})
        for name, field in form.fields.items():
            if "data-german-date" in field.widget.attrs:
                yield f"{cls.__name__}.{name}", field


def test_a_date_field_without_german_input_is_not_marked():
    """The script must not ask for German where the server would refuse it: every date field marked for
    it, in any form of referrals.forms (also ones added later), takes German dates."""
    marked = dict(marked_fields())
    assert len(marked) >= 8, sorted(marked)
    for label, field in marked.items():
        formats = field.input_formats
        assert "%d.%m.%Y" in formats or "%d.%m.%Y %H:%M" in formats, label


def _date_fields_of(module, arguments):
    """(label, field) of every date and date-time field of every form class defined in ``module``."""
    for _name, cls in inspect.getmembers(module, inspect.isclass):
        if not issubclass(cls, forms.BaseForm) or cls.__module__ != module.__name__:
            continue
        wanted = inspect.signature(cls.__init__).parameters
        try:
            form = cls(**{k: v for k, v in arguments.items() if k in wanted})
        except TypeError:
            continue  # a form that needs more than these to be built; the ones with dates need none
        for name, field in form.fields.items():
            if isinstance(field, (forms.DateField, forms.DateTimeField)):
                yield f"{cls.__name__}.{name}", field


@pytest.mark.parametrize("language", ["de", "en"])
def test_cooperation_and_access_log_dates_take_german_input(language):
    """The meetings, hospitation and event forms and the access-log filters take German dates too,
    and are marked for the script (not only the police and casework forms)."""
    from meetings import forms as meeting_forms
    from referrals.access_log import AccessLogFilterForm

    fields = dict(_date_fields_of(meeting_forms, {"user": get_user_model()(), "offices": Agency.objects.none()}))
    fields |= {f"AccessLogFilterForm.{name}": AccessLogFilterForm().fields[name] for name in ("date_from", "date_to")}
    assert len(fields) >= 10, sorted(fields)
    with translation.override(language):
        for label, field in fields.items():
            assert "data-german-date" in field.widget.attrs, label
            if isinstance(field, forms.DateTimeField):
                value = timezone.localtime(field.clean("21.11.2026 23:40"))
                assert value.strftime("%Y-%m-%d %H:%M") == "2026-11-21 23:40", label
                assert timezone.localtime(field.clean("2026-11-21T23:40")) == value, label
            else:
                for typed in ("21.11.2026", "2026-11-21"):
                    assert field.clean(typed) == datetime.date(2026, 11, 21), (label, typed)
