from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.account, name="account"),
    path("logout-everywhere/", views.logout_everywhere, name="logout_everywhere"),
    path("keepalive/", views.keepalive, name="keepalive"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/issue/", views.token_issue_view, name="token_issue"),
    path("tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
]
