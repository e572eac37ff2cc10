"""The contact directory and the routing preview as API.

- ``GET /api/v1/agencies/`` and ``/api/v1/agencies/{id}/``: every agency of the caller's districts
  (``directory.directory_for``, anything else 404) with its contact details; the on-call phone and
  mailbox only where ``directory.sees_oncall`` allows, else ``null``.
- ``GET /api/v1/routing/preview/?postcode=&city=``: where a referral with this household address would
  go — the same function as the submission (``agencies.routing.route_address``), for police and the
  district coordinator only (403 for others).
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from ..actor import actor_of
from ..directory import contact_card, directory_for
from ..models import POLICE_ROLES, Role
from ..routing import route_preview


class OfficeHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(help_text="0 = Monday … 6 = Sunday")
    opens = serializers.CharField(help_text="HH:MM, local time")
    closes = serializers.CharField(help_text="HH:MM, local time")


class ContactPersonSerializer(serializers.Serializer):
    name = serializers.CharField()
    role = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class AgencySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    city = serializers.CharField()
    phone = serializers.CharField(help_text="Office phone")
    email = serializers.CharField(help_text="Functional mailbox")
    is_24h = serializers.BooleanField()
    oncall_phone = serializers.CharField(
        allow_null=True,
        help_text="On-call phone (Rufbereitschaft): only for members of police agencies and youth offices of "
        "the same district (and of the agency itself), else null.",
    )
    oncall_email = serializers.CharField(allow_null=True, help_text="On-call mailbox, same rule as the phone.")
    office_hours = OfficeHoursSerializer(many=True)
    contact_persons = ContactPersonSerializer(many=True)
    placeholder = serializers.BooleanField(help_text="The contact details are seeded placeholders.")


class AgencyViewSet(viewsets.ReadOnlyModelViewSet):
    """The contact directory (Erreichbarkeiten) of the caller's district."""

    serializer_class = AgencySerializer
    pagination_class = None  # some twenty agencies per district

    def get_queryset(self):
        return directory_for(self.request.user)

    def _cards(self, agencies):
        return [contact_card(agency, self.request.user) for agency in agencies]

    def list(self, request, *args, **kwargs):
        return Response(AgencySerializer(self._cards(self.get_queryset()), many=True).data)

    def retrieve(self, request, *args, **kwargs):
        agency = self.get_object()  # 404 outside the caller's districts
        return Response(AgencySerializer(contact_card(agency, request.user)).data)


class RoutingPreviewSerializer(serializers.Serializer):
    office = serializers.DictField(allow_null=True, help_text="{id, name} of the responsible youth office, or null")
    triage_reason = serializers.CharField(help_text="Why the referral would go to the triage queue ('' if routed)")
    message = serializers.CharField(help_text="What the form shows, in German")
    phone = serializers.CharField(help_text="Office phone of the office (or of the coordination office for triage)")
    oncall_phone = serializers.CharField(
        help_text="Its on-call phone, if the caller may see it (police of the district), else ''"
    )


class RoutingPreviewView(APIView):
    @extend_schema(
        summary="Where a referral with this household address would go",
        parameters=[
            OpenApiParameter("postcode", OpenApiTypes.STR, required=True),
            OpenApiParameter("city", OpenApiTypes.STR, required=True),
        ],
        responses={200: RoutingPreviewSerializer},
    )
    def get(self, request):
        user = request.user
        if not actor_of(user).has_role(*POLICE_ROLES, Role.DISTRICT_COORDINATOR):
            raise PermissionDenied(_("Only police and the district coordinator preview the routing."))
        postcode = str(request.query_params.get("postcode", ""))[:10]
        city = str(request.query_params.get("city", ""))[:100]
        return Response(route_preview(postcode=postcode, city=city, user=user))
