"""Permission-matrix rows of the account pages added for issue 16 § 5, merged into ``ENDPOINTS`` of
tests/test_permissions.py: changing one's own password (agencies/password.py) is open to every
logged-in person for their own account only — there is no address naming another person — and a
POST without the current password changes nothing (tests/test_password_change.py has the rest)."""

from rest_framework.test import APIClient

PASSWORD = "Test-Passwort-123"  # tests/conftest.py


def check_password_change(persona, user, referrals):
    web = APIClient()
    web.force_login(user)
    assert web.get("/accounts/password/").status_code == 200, ("password change", persona)
    data = {
        "old_password": "nicht-das-Passwort",
        "new_password1": "Neu-und-lang-2026",
        "new_password2": "Neu-und-lang-2026",
    }
    assert web.post("/accounts/password/", data).status_code == 200, ("password change", persona)
    user.refresh_from_db()
    assert user.check_password(PASSWORD), ("password changed without the current one", persona)
    anonymous = APIClient()
    response = anonymous.get("/accounts/password/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), persona


ACCOUNT_ENDPOINTS = {"password_change": check_password_change}
