"""API authentication by token: ``Authorization: Token <key>``, as before, but the database holds
only the digest of the key (``agencies.ApiToken``)."""

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import ApiToken, api_token_digest

# When a token was last used is written at most once in this time, not on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (header, 401 with ``WWW-Authenticate: Token``, messages) looking
    the token up by the digest of the key. The digest is the lookup key, so no stored secret is
    compared character by character. Keys issued under an earlier ``SECRET_KEY`` (still listed in
    ``SECRET_KEY_FALLBACKS``) keep working and are stored under the current one on their next use."""

    keyword = "Token"

    def get_model(self):
        return ApiToken

    def authenticate_credentials(self, key):
        digest = api_token_digest(key)
        digests = [digest, *(api_token_digest(key, secret) for secret in settings.SECRET_KEY_FALLBACKS)]
        token = ApiToken.objects.select_related("user").filter(digest__in=digests).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        changes = {}
        if token.digest != digest:
            changes["digest"] = digest
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            changes["last_used_at"] = now
        if changes:
            recent = Q(last_used_at__isnull=False, last_used_at__gt=now - LAST_USED_RESOLUTION)
            rows = ApiToken.objects.filter(pk=token.pk)
            if "digest" not in changes:
                rows = rows.exclude(recent)  # another request of the same minute was first
            rows.update(**changes)
            for field, value in changes.items():
                setattr(token, field, value)
        return (token.user, token)
