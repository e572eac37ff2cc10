"""Serializers of agencies that other apps' APIs embed."""

from rest_framework import serializers

from ..models import Agency


class AgencyRefSerializer(serializers.ModelSerializer):
    # An agency as a reference: id and name (no docstring: it would become the schema's description).
    class Meta:
        model = Agency
        fields = ["id", "name"]
