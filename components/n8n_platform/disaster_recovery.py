"""The disaster-recovery runbook as commands: restore n8n from the nightly dump and the escrowed encryption key.

One source for two readers: docs/operations.md shows :func:`runbook_markdown` (``python -m
n8n_platform.disaster_recovery --write docs/operations.md`` rewrites its block, ``make docs`` does it), and the DR
drill (``tests/e2e/test_disaster_recovery.py``) runs the very same command text of every step marked ``drilled``.
The commands take what differs between a real restore and the drill only from the shell variables of
:data:`STAGE` (the first step sets them), so the drill sets those variables and nothing else.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Variable:
    """A shell variable the steps read, set once by the first step."""

    name: str
    example: str
    """What it is set to in the runbook (the operator's own value)."""
    comment: str
    exported: bool = False
    """Exported: read by the PostgreSQL client or the AWS CLI themselves."""


STAGE: tuple[Variable, ...] = (
    Variable("AWS_REGION", "eu-west-1", "the stack's region; the replica region when the first one is gone", True),
    Variable("ESCROW", "n8n/prod/n8n-secrets/encryption-key", "name in the encryptionKeyEscrowArn export"),
    Variable("DUMP_BUCKET", '"$(pulumi stack output dumpBucket)"', "or backupReplicaBuckets.dumps, second region"),
    Variable("DUMP_PREFIX", "dumps/n8n/", "the nightly dumps of database n8n (upgrade copies live elsewhere)"),
    Variable("N8N_NAMESPACE", "n8n", "n8n:namespace"),
    Variable("N8N_SCHEMA", "n8n", "n8n:database.schema"),
    Variable("PGHOST", "n8n-postgres-restored.n8n.svc", "the new database itself, not its pooler (Patroni: the "
             "cluster's Service; RDS: the instance's address); 127.0.0.1 through kubectl port-forward", True),
    Variable("PGPORT", "5432", "", True),
    Variable("PGDATABASE", "n8n", "n8n:database.name", True),
    Variable("PGUSER", "n8n", "n8n:database.user: the restore runs as n8n's own role", True),
    Variable("PGSSLMODE", "verify-full", "", True),
    Variable("PGSSLROOTCERT", "ca.crt", "the database CA: ConfigMap n8n-<stack>-ca (RDS) or the Patroni TLS Secret",
             True),
    Variable("PGPASSWORD", '"$(kubectl -n "$N8N_NAMESPACE" get secret n8n-secrets '
                           "-o jsonpath='{.data.db-password}' | base64 -d)\"", "the n8n role's password", True),
)
"""Every value the steps depend on (from kubectl port-forward or a pod that reaches the database for PG*)."""


@dataclass(frozen=True)
class Step:
    """One step of the runbook: what it is for, the commands to paste, and how the drill covers it."""

    title: str
    purpose: str
    commands: str
    drilled: bool
    """True: the drill runs ``commands`` as written (sh -eu). False: ``drill`` says what stands in for it."""
    drill: str


def stage_commands() -> str:
    """The first step's commands: every :data:`STAGE` variable set, with what it is."""
    lines = []
    for v in STAGE:
        text = f"{'export ' if v.exported else ''}{v.name}={v.example}"
        lines.append(f"{text:58s} # {v.comment}" if v.comment else text)
    return "\n".join(lines)


HISTORY_QUERY = ("SELECT 'workflows', count(*)::text FROM workflow_entity UNION ALL "
                 "SELECT 'published', count(*)::text FROM workflow_entity WHERE \\\"activeVersionId\\\" IS NOT NULL "
                 "UNION ALL SELECT 'credentials', count(*)::text FROM credentials_entity UNION ALL "
                 "SELECT 'executions', count(*)::text FROM execution_entity UNION ALL "
                 "SELECT 'newest execution', max(\\\"startedAt\\\")::text FROM execution_entity")
"""The history check (as it appears inside the double-quoted psql -c): run as the n8n role, whose search_path is
its schema (the bootstrap sets it)."""

STEPS: tuple[Step, ...] = (
    Step("Set the stage", "Every value the next steps read; nothing below needs editing.", stage_commands(),
         False, "the drill sets these variables to its own servers (and no others)"),
    Step("Replica health: is there something to restore from?",
         "A healthy database replica (Patroni member, RDS Multi-AZ standby) is a failover, not a restore. Restore "
         "when the data is gone or wrong; first see that the backups, their replicas and the escrow are current.",
         "aws cloudwatch describe-alarms --state-value ALARM --query \"MetricAlarms[?contains(AlarmName, "
         "'replication')].AlarmName\"   # empty: S3 replication of WAL and dumps is on time\n"
         "aws secretsmanager describe-secret --secret-id \"$ESCROW\" --query ReplicationStatus   # InSync\n"
         "kubectl -n \"$N8N_NAMESPACE\" exec \"$(kubectl -n \"$N8N_NAMESPACE\" get pod -l application=spilo -o name "
         "| head -1)\" -c postgres -- patronictl list   # Patroni: members, lag",
         False, "none here: no CloudWatch, S3 replication or Patroni on these machines"),
    Step("The encryption key, from the escrow",
         "Without this key every restored credential stays unreadable.",
         "aws secretsmanager get-secret-value --secret-id \"$ESCROW\" --query SecretString --output text "
         "> encryption-key\n"
         "test -s encryption-key",
         True, "run as written, against Secrets Manager's API on 127.0.0.1 holding the escrow as the plan renders it"),
    Step("The newest dump, checked",
         "The dump Job uploads <stamp>.dump and its sha256sum; a dump that fails the check is not restored.",
         "key=\"$(aws s3api list-objects-v2 --bucket \"$DUMP_BUCKET\" --prefix \"$DUMP_PREFIX\" "
         "--query \"sort_by(Contents[?ends_with(Key, '.dump')], &Key)[-1].Key\" --output text)\"\n"
         "echo \"restoring s3://$DUMP_BUCKET/$key\"\n"
         "aws s3 cp \"s3://$DUMP_BUCKET/$key\" n8n.dump --only-show-errors\n"
         "aws s3 cp \"s3://$DUMP_BUCKET/$key.sha256\" n8n.dump.sha256 --only-show-errors\n"
         "sha256sum -c n8n.dump.sha256\n"
         "pg_restore --list n8n.dump > /dev/null",
         True, "run as written, against S3's API on 127.0.0.1 (versioned, Object Lock COMPLIANCE)"),
    Step("A new database, and n8n pointed at it",
         "The stack makes the database and the n8n role (bootstrap Job) and re-points every n8n role; never edit "
         "its ConfigMaps or Secrets by hand. Patroni: a new cluster name (the lost one's archive stays). A new stack "
         "(second region): its own stack file and the escrowed key. RDS whose instance still runs: nothing to set.",
         "pulumi config set --path n8n:database.patroni.clusterName n8n-postgres-restored   # Patroni\n"
         "pulumi config set --secret n8n:encryptionKey \"$(cat encryption-key)\"   # a new stack only\n"
         "pulumi up",
         False, "a fresh PostgreSQL with the n8n role made by the production bootstrap SQL, and the key read back "
                "in step 3 as the n8n Secret's encryption-key"),
    Step("Stop n8n, so nothing writes during the restore",
         "`pulumi up` started main and the webhook processors on the new, empty database (they created an empty "
         "schema, which the restore replaces).",
         "kubectl -n \"$N8N_NAMESPACE\" annotate scaledobject n8n-worker "
         "autoscaling.keda.sh/paused-replicas=0 --overwrite\n"
         "kubectl -n \"$N8N_NAMESPACE\" scale deployment n8n-main n8n-webhook n8n-worker --replicas=0",
         False, "the drill starts no n8n process on the new database before the restore"),
    Step("Restore the dump, as n8n's own role",
         "The role owns its schema and may create one, so no admin login is needed; one transaction: all or "
         "nothing.",
         "psql -X -v ON_ERROR_STOP=1 -c \"DROP SCHEMA IF EXISTS \\\"$N8N_SCHEMA\\\" CASCADE\"\n"
         "pg_restore --exit-on-error --single-transaction --no-owner --no-privileges -d \"$PGDATABASE\" n8n.dump",
         True, "run as written, against the fresh PostgreSQL over TLS (verify-full)"),
    Step("Validate history",
         "Compare with the same query on the lost database's last known figures (or on the old database, if it "
         "still answers): workflows, published ones and credentials equal; executions up to the dump's stamp; "
         "whatever ran after the dump is lost (the RPO).",
         f"psql -X -A -t -v ON_ERROR_STOP=1 -c \"{HISTORY_QUERY}\"",
         True, "run as written, on the source at dump time and on the restored database; the outputs must match"),
    Step("n8n back, and health on every role",
         "Main first (it checks the schema), then the webhook processors and workers; each rollout waits for the "
         "role's readiness probe (/healthz/readiness on main and the webhook processors, the worker's on its "
         "QUEUE_HEALTH_CHECK_PORT).",
         "kubectl -n \"$N8N_NAMESPACE\" scale deployment n8n-main --replicas=1   # n8n:n8n.main.replicas\n"
         "kubectl -n \"$N8N_NAMESPACE\" rollout status deployment n8n-main --timeout=20m\n"
         "kubectl -n \"$N8N_NAMESPACE\" scale deployment n8n-webhook --replicas=2   # n8n:n8n.webhook.replicas\n"
         "kubectl -n \"$N8N_NAMESPACE\" annotate scaledobject n8n-worker autoscaling.keda.sh/paused-replicas-\n"
         "for d in n8n-webhook n8n-worker; do kubectl -n \"$N8N_NAMESPACE\" rollout status deployment \"$d\" "
         "--timeout=20m; done",
         False, "main, a webhook processor and a worker started from the contract on the restored database, each "
                "until its readiness endpoint answers 200; then a production webhook that needs the restored "
                "credential"),
)
"""The runbook, in order."""

BEGIN = "<!-- disaster-recovery steps: generated by `python -m n8n_platform.disaster_recovery`; do not edit -->"
END = "<!-- end of disaster-recovery steps -->"


def variables_read(commands: str) -> set[str]:
    """The shell variables ``commands`` reads (``$NAME`` or ``${NAME}``), but not the ones it sets itself."""
    read = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", commands))
    assigned = re.findall(r"(?m)^\s*([A-Za-z_][A-Za-z0-9_]*)=", commands)
    looped = re.findall(r"\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b", commands)
    return read - set(assigned) - set(looped)


def runbook_markdown() -> str:
    """The steps as docs/operations.md shows them, between :data:`BEGIN` and :data:`END`."""
    parts = [BEGIN]
    for number, step in enumerate(STEPS, start=1):
        how = "**Drilled**: " if step.drilled else "Drill: "
        parts.append(f"{number}. **{step.title}** — {step.purpose}\n\n   ```sh\n"
                     + "\n".join(f"   {line}" for line in step.commands.splitlines())
                     + f"\n   ```\n\n   {how}{step.drill}.\n")
    parts.append(END)
    return "\n".join(parts)


def with_runbook(document: str) -> str:
    """``document`` with its generated block replaced by the current :func:`runbook_markdown`."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no generated block ({BEGIN!r} ... {END!r}) in the document")
    return document[:start] + runbook_markdown() + document[end + len(END):]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="rewrite the generated block of this file (docs/operations.md)")
    args = parser.parse_args(argv)
    if args.write is None:
        print(runbook_markdown())
    else:
        args.write.write_text(with_runbook(args.write.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
