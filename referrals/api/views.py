"""The referral API. Scoping: every object comes from ``Referral.objects.visible_to``; writes go
through ``referrals.services``."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from agencies.models import POLICE_ROLES, has_role

from ..models import Child, Person, Referral, Status, Urgency
from ..pagination import InvalidCursor, keyset_page
from ..selectors import can_read_contents, triage_queue_for
from ..services import referral_assign_office, referral_save
from .serializers import (
    AssignOfficeSerializer,
    ReferralDetailSerializer,
    ReferralListSerializer,
    ReferralTriageSerializer,
    ReferralWriteSerializer,
)

API_ORDERING = ["-created_at", "-id"]


class KeysetPagination(BasePagination):
    """Cursor pagination on a total order (newest first), without OFFSET."""

    page_size = 50
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        try:
            size = min(int(request.query_params.get("page_size", self.page_size)), self.max_page_size)
        except ValueError:
            raise ValidationError({"page_size": ["A whole number is required."]}) from None
        if size < 1:
            raise ValidationError({"page_size": ["Must be at least 1."]})
        try:
            page = keyset_page(queryset, ordering=API_ORDERING, cursor=request.query_params.get("cursor"), size=size)
        except InvalidCursor:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from None
        self.request = request
        self.next_cursor = page.next_cursor
        return page.items

    def get_paginated_response(self, data):
        next_url = None
        if self.next_cursor:
            next_url = replace_query_param(self.request.build_absolute_uri(), "cursor", self.next_cursor)
        return Response({"next": next_url, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {"next": {"type": "string", "nullable": True, "format": "uri"}, "results": schema},
        }


def nest_errors(flat: dict) -> dict:
    """``{"children.0.last_name": [...]}`` → ``{"children": [{"last_name": [...]}]}``: the same shape
    as DRF's own nested errors, so a client reads one format whichever check found the problem."""
    nested: dict = {}
    for path, messages in flat.items():
        *parents, leaf = path.split(".")
        node = nested
        for part in parents:
            child = node.setdefault(part, {})
            if isinstance(child, list):  # list-level messages already there: keep them beside
                child = node[part] = {"non_field_errors": child}
            node = child
        if isinstance(node.get(leaf), dict):
            node[leaf].setdefault("non_field_errors", []).extend(messages)
        else:
            node.setdefault(leaf, []).extend(messages)
    return _lists(nested)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        items = [{} for _ in range(max(int(k) for k in node) + 1)]
        for key, value in node.items():
            items[int(key)] = _lists(value)
        return items
    return {key: _lists(value) for key, value in node.items()}


REFERRAL_EXAMPLE = {
    "police_case_number": "ME-2026-123456",
    "incident_at": "2026-11-24T22:40:00+01:00",
    "incident_location": "Wohnung der Familie",
    "urgency": "urgent",
    "concerns": ["domestic_violence"],
    "facts_observed": "Streit, zerbrochenes Geschirr, Kind weinend im Flur.",
    "facts_reported": "Nachbarin berichtet von wiederholtem Streit.",
    "children_present": "witnessed",
    "police_measures": ["residence_ban"],
    "household_address": {"street": "Mittelstraße", "house_number": "12", "postcode": "40723", "city": "Hilden"},
    "children": [{"first_name": "Mia", "last_name": "Muster", "date_of_birth": "2019-04-02", "sex": "female"}],
    "persons": [
        {"role": "father", "first_name": "Tom", "last_name": "Muster", "has_custody": True, "is_suspect": True}
    ],
    "risk_factors": ["alcohol"],
    "parents_informed": True,
    "callback_phone": "02103 898-6410",
}


@extend_schema_view(
    list=extend_schema(
        summary="Referrals visible to the caller",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Status.values),
            OpenApiParameter("urgency", OpenApiTypes.STR, enum=Urgency.values),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from `next`."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1–100, default 50."),
        ],
    ),
    retrieve=extend_schema(
        summary="One referral (404 outside the caller's scope)",
        responses={200: ReferralDetailSerializer},
    ),
)
class ReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    pagination_class = KeysetPagination
    serializer_class = ReferralListSerializer

    def get_queryset(self):
        queryset = Referral.objects.visible_to(self.request.user).select_related("youth_office", "station")
        if self.action == "list":
            for name, allowed in (("status", Status.values), ("urgency", Urgency.values)):
                value = self.request.query_params.get(name)
                if value is not None:
                    if value not in allowed:
                        raise ValidationError({name: [f"Unknown value. Allowed: {', '.join(allowed)}"]})
                    queryset = queryset.filter(**{name: value})
        return queryset

    def retrieve(self, request, *args, **kwargs):
        referral = get_object_or_404(
            self.get_queryset().prefetch_related(
                Prefetch("children", queryset=Child.objects.order_by("id")),
                Prefetch("persons", queryset=Person.objects.order_by("id")),
            ),
            pk=kwargs["pk"],
        )
        serializer_class = (
            ReferralDetailSerializer if can_read_contents(request.user, referral) else ReferralTriageSerializer
        )
        return Response(serializer_class(referral).data)

    @extend_schema(
        summary="File a referral (police officers and police coordinators)",
        request=ReferralWriteSerializer,
        responses={201: ReferralDetailSerializer},
        examples=[OpenApiExample("Domestic violence, Hilden", value=REFERRAL_EXAMPLE, request_only=True)],
    )
    def create(self, request, *args, **kwargs):
        if not has_role(request.user, *POLICE_ROLES):
            raise PermissionDenied("Only police officers and police coordinators file referrals.")
        serializer = ReferralWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        draft = data.pop("draft", False)
        children = [dict(c) for c in data.pop("children", [])]
        persons = [dict(p) for p in data.pop("persons", [])]
        try:
            referral = referral_save(
                user=request.user, fields=data, children=children, persons=persons, submit=not draft
            )
        except DjangoValidationError as exc:
            raise ValidationError(nest_errors(exc.message_dict)) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        referral = Referral.objects.select_related("youth_office", "station").get(pk=referral.pk)
        return Response(ReferralDetailSerializer(referral).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Assign a triaged referral to a youth office (district coordinator)",
        request=AssignOfficeSerializer,
        responses={200: ReferralListSerializer},
    )
    @action(detail=True, methods=["post"], url_path="assign-office")
    def assign_office(self, request, pk=None):
        referral = get_object_or_404(triage_queue_for(request.user), pk=pk)
        serializer = AssignOfficeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            referral = referral_assign_office(
                referral=referral, user=request.user, office=serializer.validated_data["youth_office"]
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(ReferralListSerializer(referral).data)
