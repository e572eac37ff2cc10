"""The sign-offs asked of the caller (issue 14 § 2): what the tasks page lists under "Sign-offs asked
of you", for an integrator — open requests addressed to the caller or to any colleague of their
offices, never their own, oldest first. Read by the page's own query
(``followthrough.signoff_requests_for``, on the indexes of open requests by person and by office);
anyone outside a youth office gets an empty list, as from ``/api/v1/tasks/``. Asking and sending back
are the case's actions (``/api/v1/referrals/{id}/sign-off-request/``, ``…/sign-off-return/``); the
sign-off itself is ``…/sign-off/`` or ``…/screening/sign-off/``."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from core.pagination import KeysetPagination
from core.serializers import ModelSerializer, UserRefSerializer

from .. import followthrough
from ..task_models import SignOffRequest


class SignOffAskedSerializer(ModelSerializer):
    reference = serializers.CharField(source="referral.reference", read_only=True)
    requested_by = UserRefSerializer(read_only=True)
    requested_to = UserRefSerializer(read_only=True, allow_null=True, help_text="null: any colleague of the office.")

    class Meta:
        model = SignOffRequest
        fields = ["id", "referral", "reference", "subject", "requested_by", "requested_to", "requested_at"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="Sign-offs asked of me",
        description="Open requests to sign off a risk assessment or a screening decision, addressed to the "
        "caller by name or to any colleague of their offices; never the caller's own. Oldest first.",
    )
)
class SignOffAskedViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = SignOffAskedSerializer
    pagination_class = KeysetPagination
    keyset_ordering = ["requested_at", "id"]

    def get_queryset(self):
        return followthrough.signoff_requests_for(self.request.user).select_related("requested_to")
