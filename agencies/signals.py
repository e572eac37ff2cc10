"""Side effects on people's accounts that must happen however the change is made (admin form, shell,
service): a deactivated person loses every session and token; a login starts the session clocks."""

import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from config.middleware import SESSION_LAST_ACTIVITY, SESSION_LOGIN_AT

from .services import person_sessions_end


@receiver(user_logged_in, dispatch_uid="agencies_session_clocks")
def start_session_clocks(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SESSION_LOGIN_AT] = now
        request.session[SESSION_LAST_ACTIVITY] = now


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="agencies_remember_is_active")
def remember_is_active(sender, instance, update_fields=None, **kwargs):
    """Whether the person was active before this save (one query, only when is_active may change)."""
    if instance.pk is None or (update_fields is not None and "is_active" not in update_fields):
        instance._was_active = None
        return
    instance._was_active = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="agencies_end_sessions_on_deactivation")
def end_sessions_on_deactivation(sender, instance, created, **kwargs):
    if not created and getattr(instance, "_was_active", None) and not instance.is_active:
        person_sessions_end(user=instance)
