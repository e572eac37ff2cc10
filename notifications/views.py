"""The in-app notifications page. Notifications carry a reference and a link, never a name."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .models import Notification
from .services import notification_mark_read

LIST_LIMIT = 100


@login_required
def notification_list(request):
    notifications = Notification.objects.for_user(request.user).order_by("-created_at", "-id")[:LIST_LIMIT]
    return render(request, "notifications/list.html", {"notifications": notifications, "limit": LIST_LIMIT})


@login_required
@require_POST
def notification_read(request, pk):
    """Mark one of the person's notifications read and open what it points to."""
    notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
    notification_mark_read(user=request.user, notification_id=notification.pk)
    link = notification.link
    if not link or not url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        # Only paths of this site are followed (allowed_hosts=None: no host at all).
        return redirect("notifications:list")
    return redirect(link)


@login_required
@require_POST
def notification_read_all(request):
    count = notification_mark_read(user=request.user)
    if count:
        messages.success(request, _("All notifications marked as read."))
    return redirect("notifications:list")
