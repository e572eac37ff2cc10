"""Retention rules and their dry run, for the people who set them — office leads for their youth
offices, district coordinators for their coordination office: every rule comes from
``retention.rules_for_lead`` (``retention_office_ids``); a rule of another office answers 404, a
caller who sets no office's rules gets 403 on the list."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from core.serializers import ModelSerializer

from ..models import RetentionRule
from ..retention import (
    DRY_RUN_SHOWN,
    dry_run_moment,
    retention_dry_run,
    retention_office_ids,
    rules_for_lead,
    rules_in_force,
)
from .serializers import ErrorSerializer


class RetentionRuleSerializer(ModelSerializer):
    office_name = serializers.CharField(source="office.name", read_only=True)
    in_force = serializers.SerializerMethodField(help_text="The rule applies today for its office and outcome.")

    class Meta:
        model = RetentionRule
        fields = ["id", "office", "office_name", "outcome", "keep_days", "valid_from", "in_force", "created_at"]

    def get_in_force(self, rule) -> bool:
        return rule.pk in self.context["in_force"]


class DryRunReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    closed_at = serializers.DateTimeField()


class DryRunSerializer(serializers.Serializer):
    rule = serializers.IntegerField()
    computed_for = serializers.DateTimeField(help_text="The start of the rule's first day.")
    count = serializers.IntegerField(help_text="How many referrals the rule would delete, in all.")
    referrals = DryRunReferralSerializer(
        many=True, help_text=f"One page of them, oldest closing first: at most {DRY_RUN_SHOWN}."
    )
    more = serializers.IntegerField(help_text="How many of them come after this page.")
    next_after = serializers.CharField(
        allow_null=True, help_text="Pass as `after` for the next page; null on the last page."
    )


class RetentionRuleViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The retention rules of the offices the caller leads (or, as district coordinator, of the
    coordination office), and for a rule not yet in force the referrals it would delete on its first
    day (as they stand now): their number and a page of them (keyset, ``retention.DRY_RUN_SHOWN``)."""

    serializer_class = RetentionRuleSerializer
    pagination_class = None  # a handful of rules per office

    def get_queryset(self):
        return rules_for_lead(self.request.user).order_by("office__name", "outcome", "-valid_from", "-id")

    def list(self, request, *args, **kwargs):
        if not retention_office_ids(request.user):
            raise PermissionDenied(_("Only office leads and district coordinators see retention rules."))
        rules = list(self.get_queryset())
        today = timezone.localdate()
        in_force = {
            rule.pk
            for office in {r.office for r in rules}
            for rule in rules_in_force(office=office, day=today).values()
        }
        context = {**self.get_serializer_context(), "in_force": in_force}
        return Response(self.get_serializer(rules, many=True, context=context).data)

    @extend_schema(
        description=(
            "The referrals the rule would delete on its first day, as they stand now: `count` in all and "
            f"one page of at most {DRY_RUN_SHOWN}, oldest closing first (keyset on closing time and id — "
            "every page costs the same). `next_after` is the `after` of the next page."
        ),
        parameters=[
            OpenApiParameter(
                "after", str, description="Cursor from `next_after` of the previous page; omit for the first page."
            )
        ],
        responses={
            200: DryRunSerializer,
            400: OpenApiResponse(ErrorSerializer, description="The rule is already in force."),
            404: OpenApiResponse(ErrorSerializer, description="No rule of an office you lead."),
        },
    )
    @action(detail=True, methods=["get"], url_path="dry-run", url_name="dry-run")
    def dry_run(self, request, pk=None):
        rule = self.get_object()
        if rule.valid_from <= timezone.localdate():
            raise ValidationError(
                {"valid_from": [_("This rule is already in force; a dry run exists only before its first day.")]}
            )
        dry_run = retention_dry_run(rule=rule, after=request.query_params.get("after"), strict=True)
        data = {
            "rule": rule.pk,
            "computed_for": dry_run_moment(rule),
            "count": dry_run.count,
            "referrals": [{"id": r.pk, "reference": r.reference, "closed_at": r.closed_at} for r in dry_run.referrals],
            "more": dry_run.more,
            "next_after": dry_run.next_after,
        }
        return Response(DryRunSerializer(data).data)
