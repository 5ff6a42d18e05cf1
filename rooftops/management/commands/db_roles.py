import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from rooftops import db_roles


class Command(BaseCommand):
    help = ("Create or update the database roles a deployment runs under: the application's (no owner, no "
            "superuser, the access log only readable and appendable), the event partitions' owner, and the audit "
            "purger. Run as the tables' owner, after migrate. Idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--app-role", default="crm_app")
        parser.add_argument("--partitions-role", default="crm_event_partitions")
        parser.add_argument("--purger-role", default="crm_audit_purger")
        parser.add_argument("--app-password-env", default="DB_APP_PASSWORD",
                            help="the environment variable holding the application role's password (default "
                                 "DB_APP_PASSWORD; unset: the password is left as it is)")
        parser.add_argument("--print", action="store_true", dest="print_only",
                            help="print the SQL (password hidden) instead of running it")

    def handle(self, *args, app_role, partitions_role, purger_role, app_password_env, print_only, **options):
        roles = db_roles.Roles(app=app_role, partitions=partitions_role, purger=purger_role)
        catalog = _catalog()
        refused = db_roles.refusal(roles, catalog)
        if refused:
            raise CommandError(refused)
        password = os.environ.get(app_password_env) or None
        with connection.cursor() as cursor:
            rendered = [s.as_string(cursor.connection) for s in db_roles.statements(roles, catalog, app_password=password)]
            shown = [s.as_string(cursor.connection) for s in db_roles.statements(
                roles, catalog, app_password="********" if password else None)]
            if print_only:
                self.stdout.write(";\n".join(shown) + ";")
                return
            with transaction.atomic():
                for statement in rendered:
                    cursor.execute(statement)
        self.stdout.write(f"Roles ready in {catalog.database}: {app_role} (the application; access log SELECT and "
                          f"INSERT only), {partitions_role} (owns the events table and its {len(catalog.event_partitions)}"
                          f" partitions), {purger_role} (deletes old access records).")
        if not db_roles.purger_may_step_past_triggers(catalog):
            self.stderr.write("The purger could not be granted SET on session_replication_role (PostgreSQL 15 or "
                              "newer and a superuser running this are needed): run a retention purge as a superuser.")
        if password is None and app_role not in catalog.existing_roles:
            self.stderr.write(f"{app_role} has no password: set {app_password_env} and run this again, or use "
                              "peer or certificate authentication.")


def _catalog() -> db_roles.Catalog:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_user, current_setting('server_version_num')::int, "
                       "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")
        database, owner, version, superuser = cursor.fetchone()
        cursor.execute("SELECT rolname FROM pg_roles")
        existing = frozenset(row[0] for row in cursor.fetchall())
        cursor.execute("""
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s ORDER BY c.relname""", [db_roles.EVENTS_PARENT])
        partitions = tuple(row[0] for row in cursor.fetchall())
    return db_roles.Catalog(database=database, owner=owner, existing_roles=existing, event_partitions=partitions,
                            server_version_num=version, owner_is_superuser=bool(superuser))
