from daphne.management.commands.runserver import Command as DaphneRunserverCommand
from django.core.management import call_command


class Command(DaphneRunserverCommand):
    """Daphne's runserver that first applies migrations, so a fresh clone needs no other step."""

    def check_migrations(self):
        call_command("migrate", interactive=False, verbosity=0)
