"""PostgreSQL roles: the database itself refuses what a role may not do.

``donor-ledger admin grant-roles`` (run by the database owner after adding users) creates four
group roles, grants each exactly what docs/rules.md#roles allows, and puts each login named in the
ledger's users into its role's group. Posted money rows get no UPDATE, DELETE or
TRUNCATE for anyone but the owner, and triggers refuse those even for the owner.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from .roles import Role

GROUP = {role: f"donor_ledger_{role.value}" for role in Role}

MONEY_TABLES = ("journal_entries", "journal_lines", "pledges", "allocations", "cancellations", "receipts", "disbursements",
                "reallocations", "refunds", "pledge_closings", "signings", "withdrawals", "instalments")
ALL_TABLES = (
    *MONEY_TABLES, "users", "mandates", "paragraphs", "donors", "rates", "activities", "audit_trail", "settings",
    "alembic_version", "activity_versions", "donor_versions", "user_versions",
)
SEQUENCES = ("users_id_seq", "donors_id_seq", "rates_id_seq", "activities_id_seq", "audit_trail_id_seq", "settings_id_seq",
             "activity_versions_id_seq", "donor_versions_id_seq", "user_versions_id_seq")

WRITES: dict[Role, dict[str, str]] = {
    Role.AUDITOR: {},
    Role.FINANCE: {
        **{t: "INSERT" for t in MONEY_TABLES},
        "donors": "INSERT, UPDATE", "rates": "INSERT", "audit_trail": "INSERT", "donor_versions": "INSERT",
    },
    Role.PROGRAMME: {"activities": "INSERT, UPDATE", "audit_trail": "INSERT", "activity_versions": "INSERT"},
    Role.ADMIN: {
        **{t: "INSERT" for t in MONEY_TABLES},
        "donors": "INSERT, UPDATE", "rates": "INSERT", "activities": "INSERT, UPDATE", "audit_trail": "INSERT",
        "users": "INSERT, UPDATE", "donor_versions": "INSERT", "activity_versions": "INSERT", "user_versions": "INSERT",
        "settings": "INSERT",
    },
}


def grant_statements() -> list[str]:
    statements = []
    for role, group in GROUP.items():
        statements.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') "
            f"THEN CREATE ROLE {group} NOLOGIN; END IF; END $$"
        )
        statements.append(f"REVOKE ALL ON {', '.join(ALL_TABLES)} FROM {group}")
        statements.append(f"GRANT SELECT ON {', '.join(ALL_TABLES)} TO {group}")
        for table, privileges in WRITES[role].items():
            statements.append(f"GRANT {privileges} ON {table} TO {group}")
        if WRITES[role]:
            statements.append(f"GRANT USAGE ON {', '.join(SEQUENCES)} TO {group}")
    statements.append(f"REVOKE ALL ON {', '.join(ALL_TABLES)} FROM PUBLIC")
    return statements


def grant_roles(conn: Connection) -> list[tuple[str, str]]:
    """Create the group roles, apply the grants, and put every existing login of the ledger's
    users into its role's group. Returns (login, group) for the memberships granted."""
    for statement in grant_statements():
        conn.execute(text(statement))
    granted = []
    for name, role in conn.execute(text("SELECT name, role FROM users ORDER BY name")).all():
        if grant_membership(conn, name, Role(role)):
            granted.append((name, GROUP[Role(role)]))
    return granted


def grant_membership(conn: Connection, login: str, role: Role) -> bool:
    """Put a login into its role's group (and out of the others), where the login exists."""
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": login}).first()
    groups = conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:g)"), {"g": list(GROUP.values())}).scalars().all()
    if not exists or not groups:
        return False
    quoted = conn.dialect.identifier_preparer.quote(login)
    for other_role, group in GROUP.items():
        if group in groups and other_role != role:
            conn.execute(text(f"REVOKE {group} FROM {quoted}"))
    conn.execute(text(f"GRANT {GROUP[role]} TO {quoted}"))
    return True
