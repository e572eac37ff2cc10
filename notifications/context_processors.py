from .models import Notification


def unread_notifications(request):
    """Count for the notification indicator in the page header (lazy: one query when shown)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notification_count": lambda: Notification.objects.for_user(user).filter(read_at__isnull=True).count()
    }
