"""Copy every attachment file from the configured private storage into a folder (backup).

``python manage.py files_export /backup/2026-12-05/dateien`` — works the same for the local folder
and an S3-compatible store, and copies exactly the files the database knows (docs/betrieb.md,
"Sicherung und Wiederherstellung"). Run it AFTER ``pg_dump``: a file uploaded in between is then in
the copy without its row (harmless), never a row without its file.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.storage import field_storage
from referrals.models import Attachment


class Command(BaseCommand):
    help = "Copy the attachments from the private storage into a folder (backup)."

    def add_arguments(self, parser):
        parser.add_argument("folder")

    def handle(self, folder, **options):
        target = Path(folder)
        storage = field_storage("referrals.Attachment.file")
        copied = missing = 0
        for name in Attachment.objects.exclude(file="").values_list("file", flat=True).iterator():
            path = (target / name).resolve()
            if target.resolve() not in path.parents:
                raise CommandError(f"refusing a file name outside the folder: {name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with storage.open(name, "rb") as source, path.open("wb") as copy:
                    for chunk in iter(lambda: source.read(1024 * 1024), b""):
                        copy.write(chunk)
            except FileNotFoundError:
                missing += 1
                self.stderr.write(f"missing in the storage: {name}")
                continue
            copied += 1
        self.stdout.write(f"{copied} files copied to {target}, {missing} missing")
        if missing:
            raise CommandError(f"{missing} files of the database are missing in the storage")
