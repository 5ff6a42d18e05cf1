"""The database roles a production deployment runs under, so the access log's guarantee holds against the
application itself (FTC Safeguards: a log the logged party cannot rewrite).

Three roles besides the owner that runs migrations:

- the **application** role (web, worker, beat): reads and writes the CRM's tables, but on the access log only
  SELECT and INSERT. It owns nothing it could use to get round the log's triggers (an owner may `ALTER TABLE
  ... DISABLE TRIGGER`), is no superuser (only a superuser may `SET session_replication_role`) and creates
  no roles.
- the **event partitions** role (no login): owns `tracking_event` and its month partitions. The application is
  a member, because its beat task creates next month's partition and drops expired ones, which PostgreSQL
  allows only to the parent's owner. Owning the events table gives no power over any other table.
- the **audit purger** role (no login): the one role that may delete old access records, by setting
  `session_replication_role = replica` for its own transaction (granted on PostgreSQL 15 and newer). An operator
  grants it to a person for a retention purge; the application is never a member.

`statements` is pure: it takes names and facts read from the catalog and returns the SQL to run, so what the
command does can be read (and printed with `--print`) before it is applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

ACCESS_LOG_TABLE = "rooftops_accessrecord"
EVENTS_PARENT = "tracking_event"
# The parameter only a superuser may set, and the one a purge needs to step past the log's triggers.
REPLICATION_ROLE_PARAMETER = "session_replication_role"


@dataclass(frozen=True)
class Roles:
    app: str = "crm_app"
    partitions: str = "crm_event_partitions"
    purger: str = "crm_audit_purger"


@dataclass(frozen=True)
class Catalog:
    """What the command read from the database it is about to change."""
    database: str
    owner: str  # the role running the command: the tables' owner, which keeps running migrations
    existing_roles: frozenset[str]
    event_partitions: tuple[str, ...]  # the events table's partitions, default included
    server_version_num: int
    owner_is_superuser: bool


def refusal(roles: Roles, catalog: Catalog) -> str:
    """Why these roles would not give the guarantee, or '' when they would."""
    names = [roles.app, roles.partitions, roles.purger]
    if len(set(names)) != 3:
        return "the application, event partitions and audit purger roles must be three different roles"
    if catalog.owner in names:
        return (f"run this as the tables' owner (the role that runs migrations), not as {catalog.owner!r}: "
                "the application must own nothing")
    return ""


def purger_may_step_past_triggers(catalog: Catalog) -> bool:
    """Only a superuser may grant SET on a superuser-only parameter, and only PostgreSQL 15 and newer know the grant;
    elsewhere a purge runs as a superuser."""
    return catalog.server_version_num >= 150000 and catalog.owner_is_superuser


def statements(roles: Roles, catalog: Catalog, *, app_password: str | None) -> list[sql.Composable]:
    app, partitions, purger = (sql.Identifier(name) for name in (roles.app, roles.partitions, roles.purger))
    owner = sql.Identifier(catalog.owner)
    out: list[sql.Composable] = []

    def role(name: str, ident: sql.Identifier, *, login: bool, password: str | None = None) -> None:
        verb = "ALTER" if name in catalog.existing_roles else "CREATE"
        options = sql.SQL("LOGIN" if login else "NOLOGIN") + sql.SQL(
            " NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT")
        if password is not None:
            options += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        out.append(sql.SQL(verb + " ROLE {} WITH ").format(ident) + options)

    role(roles.app, app, login=True, password=app_password)
    role(roles.partitions, partitions, login=False)
    role(roles.purger, purger, login=False)

    database = sql.Identifier(catalog.database)
    out.append(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, app))
    out.append(sql.SQL("GRANT USAGE ON SCHEMA public TO {}, {}").format(app, purger))
    # Every table and sequence there is now, and every one a later migration makes.
    out.append(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(app))
    out.append(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(app))
    out.append(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                       "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}").format(owner, app))
    out.append(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                       "GRANT USAGE, SELECT ON SEQUENCES TO {}").format(owner, app))
    # The access log: the application may add and read, nothing else (the triggers refuse the rest anyway).
    log = sql.Identifier(ACCESS_LOG_TABLE)
    out.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(log, app))
    out.append(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(log, app))
    # The events table and its partitions belong to the partitions role, which the application is a member of;
    # a partition is created in the schema, so that role may create there.
    out.append(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(partitions))
    for table in (EVENTS_PARENT, *catalog.event_partitions):
        out.append(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(table), partitions))
    out.append(sql.SQL("GRANT {} TO {}").format(partitions, app))
    # The purger: reads and deletes access records, and may step past the triggers for its own transaction.
    out.append(sql.SQL("GRANT SELECT, DELETE ON {} TO {}").format(log, purger))
    if purger_may_step_past_triggers(catalog):
        out.append(sql.SQL("GRANT SET ON PARAMETER {} TO {}").format(sql.Identifier(REPLICATION_ROLE_PARAMETER), purger))
    return out
