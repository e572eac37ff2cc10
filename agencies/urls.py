from django.contrib.auth import views as auth_views
from django.urls import path

from . import password, views

urlpatterns = [
    path("login/", views.Login.as_view(), name="login"),
    path("second-factor/", views.mfa_verify, name="mfa_verify"),
    path("second-factor/setup/", views.mfa_enrol, name="mfa_enrol"),
    path("second-factor/backup-codes/", views.mfa_backup_codes, name="mfa_backup_codes"),
    path("people/<int:pk>/second-factor-reset/", views.mfa_reset_view, name="mfa_reset"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.account, name="account"),
    path("logout-everywhere/", views.logout_everywhere, name="logout_everywhere"),
    path("password/", password.password_change, name="password_change"),
    path("keepalive/", views.keepalive, name="keepalive"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/issue/", views.token_issue_view, name="token_issue"),
    path("tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
]
