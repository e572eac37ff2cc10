"""Plausibility of what police file, beyond the format: dates that cannot be right (a typing error
such as year 1 or 1800) and postcodes typed with digits of another script. The rules are written
down in docs/domain.md ("Plausible Angaben"); the police form and the API apply them both."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.text import ascii_digits

# Nobody alive was born earlier; the date input of the form offers nothing before it either.
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)

# ASCII digits only (``[0-9]``, not ``\d``, which in Python also matches full-width and Arabic-Indic
# digits); the model's rule ``agencies.models.postcode_validator`` is the same.
ascii_postcode_validator = RegexValidator(r"\A[0-9]{5}\Z", _("A German postcode has exactly five digits."))


def plausible_birth_date(value: datetime.date | None) -> None:
    """A date of birth of a child or a person lies on or after 1 January 1900 (that it does not lie
    in the future is the model's ``not_in_future``)."""
    if value is not None and value < EARLIEST_BIRTH_DATE:
        raise ValidationError(_("The date of birth lies before 1 January 1900. Check the year."), code="too_early")


def earliest_incident_date() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=settings.INCIDENT_MAX_AGE_DAYS)


def plausible_incident_at(value: datetime.datetime | None) -> None:
    """An operation (or a follow-up's new incident) lies at most ``INCIDENT_MAX_AGE_DAYS`` days back;
    an older one is a typing error, not a case for today's child protection. (That it does not lie
    in the future is the model's ``not_in_future_dt``.)"""
    if value is None:
        return
    earliest = earliest_incident_date()
    if value.date() < earliest:  # compared as dates: a year-1 datetime cannot be moved between zones
        raise ValidationError(
            gettext("The date lies before %(date)s. Check the year.")
            % {"date": formats.date_format(earliest, "SHORT_DATE_FORMAT")},
            code="too_early",
        )


def postcode_to_ascii(value: str | None) -> str:
    """A postcode as typed, with digits of any script (full-width ４, Arabic-Indic ٤ ...) turned into
    ASCII digits: the postcode is then stored and routed as 40723. Other characters are kept for
    ``ascii_postcode_validator`` to refuse."""
    return ascii_digits(value)
