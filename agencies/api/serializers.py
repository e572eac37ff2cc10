"""Serializers of agencies that other apps' APIs embed."""

from core.serializers import ModelSerializer

from ..models import Agency


class AgencyRefSerializer(ModelSerializer):
    # An agency as a reference: id and name (no docstring: it would become the schema's description).
    class Meta:
        model = Agency
        fields = ["id", "name"]
