"""The deployment's database roles: the application's own role cannot rewrite, delete or switch off the access
log, yet runs the CRM (pages, the log's inserts, the events table's month partitions); only the purger may
remove old records. Real roles in the real PostgreSQL, logged in as them."""

import uuid
from datetime import datetime, timezone

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from psycopg import errors, sql

from factories import make_customer
from rooftops import db_roles
from rooftops.models import AccessRecord
from tracking.partitions import month_partition, partitions_ensure

PASSWORD = "app-role-test-password"


@pytest.fixture
def roles(monkeypatch):
    suffix = uuid.uuid4().hex[:8]
    names = db_roles.Roles(app=f"crm_app_{suffix}", partitions=f"crm_parts_{suffix}", purger=f"crm_purger_{suffix}")
    monkeypatch.setenv("DB_APP_PASSWORD", PASSWORD)
    yield names
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        for name in (names.app, names.purger, names.partitions):
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
            if cursor.fetchone():
                role = sql.Identifier(name)
                cursor.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(role))
                cursor.execute(sql.SQL("DROP OWNED BY {}").format(role))
                cursor.execute(sql.SQL("DROP ROLE {}").format(role))


def _login_as(role: str) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"] or None, port=db["PORT"] or None, dbname=db["NAME"], user=role,
                           password=PASSWORD, autocommit=True)


def _record(world) -> AccessRecord:
    return AccessRecord.unscoped.create(rooftop=world.rooftop, user=world.manager, username=world.manager.username,
                                        client_address="127.0.0.1", kind="customer_page", path="/customers/1/",
                                        object_ids=[1], rows=1)


def _refused(conn: psycopg.Connection, statement: str, *params) -> str:
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(statement, params or None)
    return str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_the_application_role_cannot_change_delete_or_switch_off_the_access_log(world, roles):
    record = _record(world)
    call_command("db_roles", app_role=roles.app, partitions_role=roles.partitions, purger_role=roles.purger)
    with _login_as(roles.app) as app:
        assert app.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (
            roles.app, False)
        # It reads and appends...
        assert app.execute("SELECT count(*) FROM rooftops_accessrecord").fetchone() == (1,)
        columns = [c for c in app.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'rooftops_accessrecord' "
            "AND column_name <> 'id' ORDER BY ordinal_position").fetchall()]
        names = sql.SQL(", ").join(sql.Identifier(c[0]) for c in columns)
        app.execute(sql.SQL("INSERT INTO rooftops_accessrecord ({0}) SELECT {0} FROM rooftops_accessrecord "
                            "WHERE id = %s").format(names), [record.id])
        assert app.execute("SELECT count(*) FROM rooftops_accessrecord").fetchone() == (2,)
        # ... and nothing else: not by privilege, not by being the owner, not by being a superuser.
        for statement in ("UPDATE rooftops_accessrecord SET username = 'someone else'",
                          "DELETE FROM rooftops_accessrecord",
                          "TRUNCATE rooftops_accessrecord"):
            assert "permission denied" in _refused(app, statement)
        assert "must be owner" in _refused(app, "ALTER TABLE rooftops_accessrecord DISABLE TRIGGER ALL")
        assert "must be owner" in _refused(
            app, "DROP TRIGGER rooftops_accessrecord_no_update_delete ON rooftops_accessrecord")
        assert "permission denied" in _refused(app, "SET session_replication_role = replica")
        assert "permission denied" in _refused(app, sql.SQL("GRANT {} TO {}").format(
            sql.Identifier(roles.purger), sql.Identifier(roles.app)).as_string(app))
        # Its ordinary work still runs: the tables it writes, and the events table's month partitions.
        app.execute("UPDATE rooftops_rooftop SET name = name WHERE id = %s", [world.rooftop.id])
        app.execute("CREATE TABLE tracking_event_y2099m01 PARTITION OF tracking_event "
                    "FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')")
        with app.transaction():
            app.execute("ALTER TABLE tracking_event DETACH PARTITION tracking_event_default")
            app.execute("ALTER TABLE tracking_event ATTACH PARTITION tracking_event_default DEFAULT")
        app.execute("DROP TABLE tracking_event_y2099m01")
    assert list(AccessRecord.unscoped.filter(pk=record.pk).values_list("username", flat=True)) == [
        world.manager.username]


@pytest.mark.django_db(transaction=True)
def test_the_crm_runs_under_the_application_role(client, world, roles):
    """The customer page (which writes its access record) and the beat's partition upkeep, with Django's own
    connection switched to the application role's privileges."""
    call_command("db_roles", app_role=roles.app, partitions_role=roles.partitions, purger_role=roles.purger)
    customer = make_customer(world.rooftop)
    client.force_login(world.salesperson)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(roles.app)))
    try:
        assert client.get(reverse("customer-detail", args=[customer.id])).status_code == 200
        created = partitions_ensure(now=datetime(2098, 6, 1, tzinfo=timezone.utc))
        assert month_partition(datetime(2098, 6, 1, tzinfo=timezone.utc)).name in created
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (roles.app,)
            for name in created:
                cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert AccessRecord.unscoped.filter(kind="customer_page", object_ids=[customer.id]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_only_the_purger_removes_old_access_records(world, roles):
    record = _record(world)
    call_command("db_roles", app_role=roles.app, partitions_role=roles.partitions, purger_role=roles.purger)
    with _login_as(roles.app) as app:
        assert "permission denied" in _refused(app, "SET LOCAL session_replication_role = replica")
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(roles.purger)))
        cursor.execute("SAVEPOINT before_the_triggers")
        with pytest.raises(Exception, match="append-only"):
            cursor.execute("DELETE FROM rooftops_accessrecord WHERE id = %s", [record.id])
        cursor.execute("ROLLBACK TO SAVEPOINT before_the_triggers")
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM rooftops_accessrecord WHERE id = %s", [record.id])
        cursor.execute("COMMIT")
    assert not AccessRecord.unscoped.filter(pk=record.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_running_it_again_changes_nothing_and_prints_no_password(world, roles, capsys):
    for _ in range(2):
        call_command("db_roles", app_role=roles.app, partitions_role=roles.partitions, purger_role=roles.purger)
    call_command("db_roles", app_role=roles.app, partitions_role=roles.partitions, purger_role=roles.purger,
                 print_only=True)
    printed = capsys.readouterr().out
    assert f'ALTER ROLE "{roles.app}" WITH LOGIN' in printed and PASSWORD not in printed and "'********'" in printed


def test_the_tables_owner_runs_it_never_the_application():
    roles = db_roles.Roles(app="crm_app")
    catalog = db_roles.Catalog(database="crm", owner="crm_app", existing_roles=frozenset(), event_partitions=(),
                               server_version_num=160000, owner_is_superuser=False)
    assert "not as 'crm_app'" in db_roles.refusal(roles, catalog)
    assert "three different roles" in db_roles.refusal(db_roles.Roles(app="x", partitions="x"), catalog)


@pytest.mark.django_db
def test_the_command_refuses_to_make_the_owner_the_application(roles):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        [owner] = cursor.fetchone()
    with pytest.raises(CommandError, match="tables' owner"):
        call_command("db_roles", app_role=owner)


@pytest.mark.parametrize("version, superuser, purger_sets", [
    (160000, True, True),
    (150000, True, True),
    (140000, True, False),  # GRANT SET ON PARAMETER is new in 15: a purge runs as a superuser there
    (160000, False, False),  # only a superuser may grant a superuser-only parameter
])
def test_the_access_log_grants_in_the_sql(version, superuser, purger_sets):
    catalog = db_roles.Catalog(database="crm", owner="crm", existing_roles=frozenset({"crm_app"}),
                               event_partitions=("tracking_event_default", "tracking_event_y2026m12"),
                               server_version_num=version, owner_is_superuser=superuser)
    text = [s.as_string() for s in db_roles.statements(db_roles.Roles(), catalog, app_password=None)]
    assert 'GRANT SELECT, INSERT ON "rooftops_accessrecord" TO "crm_app"' in text
    assert text.index('REVOKE ALL ON "rooftops_accessrecord" FROM "crm_app"') < text.index(
        'GRANT SELECT, INSERT ON "rooftops_accessrecord" TO "crm_app"')
    assert text[0].startswith('ALTER ROLE "crm_app" WITH LOGIN NOSUPERUSER') and "PASSWORD" not in text[0]
    assert {'ALTER TABLE "tracking_event_default" OWNER TO "crm_event_partitions"',
            'ALTER TABLE "tracking_event_y2026m12" OWNER TO "crm_event_partitions"'} <= set(text)
    assert any("SET ON PARAMETER" in s for s in text) is purger_sets

