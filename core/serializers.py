"""Serializer pieces every API module uses (referrals, meetings, agencies)."""

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


class ModelSerializer(serializers.ModelSerializer):
    """DRF's model serializer with ``IdField`` for every reference to another object."""

    serializer_related_field = IdField


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
