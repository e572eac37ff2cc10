import django.utils.timezone
from django.core.management import call_command
from django.db import migrations, models


def create_cache_table(apps, schema_editor):
    """The database cache's table (settings.CACHES without REDIS_URL); nothing when the cache is Redis.
    createcachetable is idempotent, so running it again after a change of configuration is safe."""
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="FileDeletion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("field", models.CharField(max_length=100)),
                ("name", models.CharField(max_length=300)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.CharField(blank=True, max_length=100)),
                ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "file deletion",
                "verbose_name_plural": "file deletions",
            },
        ),
        migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=True),
    ]
