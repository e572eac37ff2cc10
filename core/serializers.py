"""Serializer pieces every API module uses (referrals, meetings, agencies)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A text field that refuses numbers, booleans, lists and objects instead of converting them."""

    default_error_messages = {"invalid": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UserRefSerializer(serializers.Serializer):
    """A person as other people see them: id and display name, nothing else."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
