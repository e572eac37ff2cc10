"""Serializer pieces every API module uses (referrals, meetings, agencies)."""

import datetime
import re

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A text field that refuses numbers, booleans, lists and objects instead of converting them."""

    default_error_messages = {"invalid": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdField(serializers.PrimaryKeyRelatedField):
    """A reference to another object by its id: a whole number only (DRF's own field looked up 19.5
    as 19, and a number beyond a bigint reached the database), with messages a caller can act on."""

    default_error_messages = {
        "does_not_exist": _("There is nothing with the id {pk_value} to choose here."),
        "incorrect_type": _("Send the id as a whole number, not as {data_type}."),
    }

    def to_internal_value(self, data):
        if isinstance(data, str) and data.isascii() and data.isdigit():  # form fields (multipart) are text
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < data < 2**63:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class DateField(serializers.DateField):
    """A date as ``YYYY-MM-DD`` in ASCII digits (DRF's parser also takes full-width digits), and for a
    well-formed day that does not exist (2020-02-30) a message that says so, not "wrong format"."""

    default_error_messages = {"nonexistent": _("There is no such day: {value}.")}

    def to_internal_value(self, value):
        _check_text(self, value, "YYYY-MM-DD")
        return super().to_internal_value(value)


class DateTimeField(serializers.DateTimeField):
    """A date and time in ASCII digits; a day that does not exist is named as such, and a local time
    without offset that the clocks skip (02:30 on the last Sunday of March) is refused instead of
    being moved silently to 03:30."""

    default_error_messages = {
        "nonexistent": _("There is no such day: {value}."),
        "skipped": _("The clocks skip this local time (daylight saving time): {value}. Give the offset, e.g. +02:00."),
    }

    def to_internal_value(self, value):
        _check_text(self, value, "YYYY-MM-DDThh:mm[:ss][+HH:MM]")
        parsed = super().to_internal_value(value)
        try:
            naive = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            naive = None
        if naive is not None and naive.tzinfo is None and timezone.is_aware(parsed):
            # through UTC: astimezone() to the datetime's own zone would return it unchanged
            local = parsed.astimezone(datetime.UTC).astimezone(timezone.get_current_timezone()).replace(tzinfo=None)
            if local.replace(microsecond=0) != naive.replace(microsecond=0):
                self.fail("skipped", value=value)
        return parsed


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _check_text(field, value, format: str) -> None:
    """ASCII digits only, and a well-formed day that does not exist named as such."""
    if not isinstance(value, str):
        return
    if not value.isascii():
        field.fail("invalid", format=format)
    if ISO_DATE.match(value) and not _is_day(value[:10]):
        field.fail("nonexistent", value=value[:10])


def _is_day(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


class ModelSerializer(serializers.ModelSerializer):
    """DRF's model serializer with ``IdField`` for every reference to another object, and the date
    fields above for the model's dates."""

    serializer_related_field = IdField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: DateField,
        models.DateTimeField: DateTimeField,
    }


class UserRefSerializer(serializers.Serializer):
    """A person as other people see them: id and display name, nothing else."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


def unknown_value(allowed) -> str:
    """The message for a query parameter or field outside its values, naming the allowed ones."""
    return gettext("Unknown value. Allowed: %(allowed)s") % {"allowed": ", ".join(allowed)}
