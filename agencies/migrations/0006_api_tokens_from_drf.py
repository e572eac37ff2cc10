"""API tokens of rest_framework.authtoken (the key in plain text as primary key) become
agencies.ApiToken rows holding the digest of the same key, so keys handed out keep working; then the
old table is dropped and rest_framework.authtoken's migration records removed (the app is no longer
installed). Without the old table (a new installation) this does nothing."""

import datetime as dt

from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime

OLD_TABLE = "authtoken_token"
SALT = "agencies.ApiToken"  # agencies.models.API_TOKEN_SALT when this was written
PREFIX_LENGTH = 8


def _aware(value):
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def tokens_from_drf(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("agencies", "ApiToken")
    table = schema_editor.quote_name(OLD_TABLE)
    with connection.cursor() as cursor:
        # Table and column names are constants of this file, quoted; there is no input in the statement.
        key = schema_editor.quote_name("key")
        cursor.execute(f"SELECT {key}, user_id, created FROM {table}")  # noqa: S608  # nosec B608
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        digest = salted_hmac(SALT, key, algorithm="sha256").hexdigest()
        created_at = _aware(created) or dt.datetime.now(dt.UTC)
        defaults = {"digest": digest, "prefix": key[:PREFIX_LENGTH], "created_at": created_at}
        ApiToken.objects.update_or_create(user_id=user_id, defaults=defaults)
    schema_editor.execute(f"DROP TABLE {table}")
    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [("agencies", "0005_api_token")]

    operations = [migrations.RunPython(tokens_from_drf, migrations.RunPython.noop)]
