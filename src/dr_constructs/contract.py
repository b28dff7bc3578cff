"""The names a deployed dr-constructs stack carries and the operator command reads.

Both sides of that contract import this module, and it imports nothing: the constructs name
what they build with it, and ``dr-constructs`` (the operator command, which never loads
aws-cdk-lib) finds what it needs with it. A rename here renames on both sides at once;
``tests/test_contract.py`` synthesizes a stack and runs the command's discovery on it.

The restore-test validator and the health check run as Lambda code of their own, without the
package: they keep a copy of the names they use, held to this module by the same test.
"""

# --- The template's metadata: the recovery objectives it states -----------------------------

#: Template-level Metadata key under which DrPlatform states its recovery objectives.
METADATA_KEY = "dr-constructs"
#: The failure modes, as the metadata and the operator command name them.
AZ_LOSS, CORRUPTION, STACK_DELETION = "az_loss", "corruption", "stack_deletion"
FAILURE_MODES = (AZ_LOSS, CORRUPTION, STACK_DELETION)
#: The loss of the whole region: stated only by a stack with a recovery region (it is not in
#: :data:`FAILURE_MODES`, the modes every stack states).
REGION_LOSS = "region_loss"
#: The spec's objectives, RPO 1 hour and RTO 4 hours: the library's default, and what the
#: operator command holds a stack to when it states none.
SPEC_RPO_SECONDS, SPEC_RTO_SECONDS = 3600, 4 * 3600
#: Keys of the stated objectives: ``{"objectives": {mode: {"rpo_seconds", "rto_seconds"}}}``.
OBJECTIVES, RPO_SECONDS, RTO_SECONDS = "objectives", "rpo_seconds", "rto_seconds"


#: Key of the recovery region a stack copies its backups to:
#: ``{"recovery_region": {"region", "vault", "stack"}}`` (only when it has one).
RECOVERY_REGION = "recovery_region"
#: The keys inside it: the region, the recovery vault's name, the recovery stack's name.
RECOVERY_REGION_NAME, RECOVERY_VAULT, RECOVERY_STACK = "region", "vault", "stack"


def stated_objectives(
    targets: dict[str, tuple[int, int]], recovery_region: dict[str, str] | None = None
) -> dict[str, object]:
    """The Metadata value that states ``targets`` (failure mode -> (RPO, RTO) in seconds) and,
    when there is one, the recovery region (``region``, ``vault`` name, ``stack`` name)."""
    stated: dict[str, object] = {
        OBJECTIVES: {
            mode: {RPO_SECONDS: rpo, RTO_SECONDS: rto} for mode, (rpo, rto) in targets.items()
        }
    }
    if recovery_region is not None:
        stated[RECOVERY_REGION] = dict(recovery_region)
    return stated


# --- Physical names ------------------------------------------------------------------------


def function_name(name: str, suffix: str) -> str:
    """A DrFunction's Lambda function: ``dr-{name}-{suffix}``."""
    return f"dr-{name}-{suffix}"


#: DrFunction's name of the health check, whose function the operator command invokes.
HEALTH_CHECK = "function"
#: The health check's function name without the suffix: ``dr-function-``.
FUNCTION_PREFIX = function_name(HEALTH_CHECK, "")
#: DrPlatform's name of the packaged health check it runs beside a Lambda of the team's own
#: code (the canary writer), and its function name without the suffix: ``dr-canary-``.
CANARY_WRITER = "canary"
CANARY_PREFIX = function_name(CANARY_WRITER, "")


#: The database role the health check keeps in Aurora for reading restored copies (IAM
#: database authentication only, read-only on the heartbeat table).
RESTORE_VALIDATOR_ROLE = "dr_restore_validator"
#: The health check's event key that asks it to read a restored copy's heartbeat row instead
#: of running its checks: ``{VERIFY_RESTORED_CLUSTER: {"endpoint": ..., "port": ...}}``.
VERIFY_RESTORED_CLUSTER = "verify_restored_cluster"


def cluster_identifier(suffix: str) -> str:
    return f"dr-aurora-{suffix}"


def table_name(suffix: str) -> str:
    return f"dr-table-{suffix}"


def vault_name(suffix: str) -> str:
    return f"dr-vault-{suffix}"


def plan_name(suffix: str) -> str:
    return f"dr-plan-{suffix}"


def recovery_vault_name(suffix: str) -> str:
    """The vault in the recovery region that every backup is copied to."""
    return f"dr-recovery-vault-{suffix}"


def recovery_key_alias(suffix: str) -> str:
    """The alias of the recovery vault's key (the backup role is granted the key by it)."""
    return f"alias/dr-recovery-{suffix}"


def recovery_subnet_group_name(suffix: str) -> str:
    """The DB subnet group restored Aurora clusters join in the recovery region."""
    return f"dr-recovery-{suffix}"


#: DrRecoveryRegion's construct id of the security group of restored Aurora clusters (its
#: logical id holds it; the command tells it from the VPC's other groups by it).
RESTORED_CLUSTER_SECURITY_GROUP_ID = "RestoredClusterSecurityGroup"


def alarm_name(suffix: str, id: str) -> str:
    return f"dr-{suffix}-{id}"


# --- Logical ids the operator command matches ------------------------------------------------

#: DrPlatform's DrBucket and DrBackupVault, and the construct ids inside them that the
#: command tells apart by logical id: the data bucket's logical id holds ``StorageBucket``
#: (the access-log bucket's ``StorageAccessLogs``), the backup role's ``BackupRole``.
STORAGE_ID, DATA_BUCKET_ID, ACCESS_LOGS_ID = "Storage", "Bucket", "AccessLogs"
BACKUP_ID, BACKUP_ROLE_ID = "Backup", "Role"
DATA_BUCKET_FRAGMENT = STORAGE_ID + DATA_BUCKET_ID
BACKUP_ROLE_FRAGMENT = BACKUP_ID + BACKUP_ROLE_ID

# --- Drills ----------------------------------------------------------------------------------

#: Tag on every FIS experiment template naming its drill.
DRILL_TAG = "dr-constructs:drill"
AURORA_FAILOVER_DRILL = "aurora-failover"
AZ_DRILL_PREFIX = "az-"


def az_drill(zone: str) -> str:
    """The drill that rehearses the loss of ``zone``: ``az-us-east-1a``."""
    return f"{AZ_DRILL_PREFIX}{zone}"


# --- Metrics ---------------------------------------------------------------------------------

#: The restore tests' measurements (dimension ``ResourceType``), published by the validator.
RESTORE_TESTING_NAMESPACE = "DrConstructs/RestoreTesting"
RESTORE_TIME, DATA_AGE, VALIDATION_FAILED = "RestoreTime", "DataAge", "ValidationFailed"
#: Aurora's restore tests also measure the time from the restore job's start to the first
#: successful query of the restored copy (an instance added, the canary row read).
TIME_TO_USABLE = "TimeToUsable"
#: The health check's failed reports, counted by a metric filter on its log group.
HEALTH_CHECK_NAMESPACE = "DrConstructs/HealthCheck"
HEALTH_CHECK_FAILURES = "Failures"

# --- Restored copies -------------------------------------------------------------------------

#: How AWS Backup names the copies a restore test makes, per resource type: "random value
#: starting with" these (AWS Backup Developer Guide, "Restore testing inferred metadata":
#: DynamoDB ``targetTableName`` and S3 ``destinationBucketName`` start with
#: ``awsbackup-restore-test-``, an Aurora ``dbClusterIdentifier`` with
#: ``awsbackup-restore-test``, no hyphen written).
RESTORED_NAME_PREFIXES = {
    "Aurora": "awsbackup-restore-test",
    "DynamoDB": "awsbackup-restore-test-",
    "S3": "awsbackup-restore-test-",
}
