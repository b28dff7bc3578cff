// Empties an AWS Backup vault when its stack is deleted, so that CloudFormation can delete it.
//
// AWS refuses to delete a backup vault that holds recovery points (DeleteBackupVault: "A vault
// can be deleted only if it is empty"), and once a stack's first backup has run, its vault
// holds some: hourly snapshots and one continuous recovery point per resource (Aurora, S3).
// CloudFormation runs this handler after the backup plan and its selections are gone (the plan
// depends on this resource), so no new job starts. It deletes every recovery point of the vault
// (a continuous one included: deleting it stops that continuous backup), then waits until AWS
// has finished deleting them (points stay listed, DELETING, until then) and no backup job into
// the vault is still running (one started before the plan was deleted still adds its point),
// deleting what appears meanwhile, until the vault is empty; then CloudFormation deletes it.
//
// It acts only on a vault tagged dr-constructs:delete-with-stack=true (the DESTROY opt-in; an
// update that drops the opt-in removes the tag first) and never on a locked vault (Vault Lock).
// Run by CDK's CustomResourceProvider entrypoint, which answers CloudFormation.
'use strict';
const { Backup } = require('@aws-sdk/client-backup');

const TAG = 'dr-constructs:delete-with-stack';
const PAUSE_MS = 15000; // between rounds
const RESERVE_MS = 60000; // of the Lambda's time, kept to answer CloudFormation
// Backup jobs that may still write a recovery point into the vault (BackupJobState).
const ACTIVE_JOB_STATES = ['CREATED', 'PENDING', 'RUNNING'];

const backup = new Backup({});

exports.handler = async (event, context, pauseMs = PAUSE_MS) => {
  const vault = event.ResourceProperties.BackupVaultName;
  if (event.RequestType !== 'Delete') return { PhysicalResourceId: vault };
  let described;
  try {
    described = await backup.describeBackupVault({ BackupVaultName: vault });
  } catch (error) {
    if (error.name !== 'ResourceNotFoundException') throw error;
    console.log(`${vault} is already gone`);
    return undefined;
  }
  if (described.Locked) {
    console.log(`${vault} is locked (Vault Lock): kept, its recovery points too`);
    return undefined;
  }
  if (!(await isTagged(described.BackupVaultArn))) {
    console.log(`${vault} is not tagged ${TAG}=true: kept`);
    return undefined;
  }
  await emptyUntilQuiet(vault, context, pauseMs);
  return undefined;
};

async function isTagged(vaultArn) {
  const { Tags } = await backup.listTags({ ResourceArn: vaultArn });
  return (Tags ?? {})[TAG] === 'true';
}

async function emptyUntilQuiet(vault, context, pauseMs) {
  for (let round = 1; ; round++) {
    const points = await recoveryPoints(vault);
    const jobs = await activeJobs(vault);
    if (points.length === 0 && jobs.length === 0) {
      console.log(`${vault} is empty and no backup job writes to it (round ${round})`);
      return;
    }
    let deleted = 0;
    for (const point of points) {
      if (point.Status === 'DELETING') continue; // AWS is deleting it already
      try {
        await backup.deleteRecoveryPoint({
          BackupVaultName: vault,
          RecoveryPointArn: point.RecoveryPointArn,
        });
        deleted++;
      } catch (error) {
        // gone meanwhile, or AWS is acting on it (e.g. still CREATING): next round
        if (!['ResourceNotFoundException', 'InvalidResourceStateException'].includes(error.name)) {
          throw error;
        }
      }
    }
    const held = points.length ? ` (${statuses(points)})` : '';
    const waiting = `${points.length} recovery points${held} and ${jobs.length} running backup jobs`;
    if (context.getRemainingTimeInMillis() < pauseMs + RESERVE_MS) {
      throw new Error(
        `${vault} still holds ${waiting} after ${round} rounds; delete the stack again to resume`,
      );
    }
    console.log(`${vault}: ${waiting}, ${deleted} deletions started (round ${round}), waiting`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

async function recoveryPoints(vault) {
  return everyPage((token) =>
    backup
      .listRecoveryPointsByBackupVault({ BackupVaultName: vault, NextToken: token })
      .then((page) => [page.RecoveryPoints, page.NextToken]),
  );
}

async function activeJobs(vault) {
  const jobs = [];
  for (const state of ACTIVE_JOB_STATES) {
    const page = (token) =>
      backup
        .listBackupJobs({ ByBackupVaultName: vault, ByState: state, NextToken: token })
        .then((answer) => [answer.BackupJobs, answer.NextToken]);
    jobs.push(...(await everyPage(page)));
  }
  return jobs;
}

// The items of every page: `page(token)` answers [items, next token].
async function everyPage(page) {
  const items = [];
  let token;
  do {
    const [found, next] = await page(token);
    items.push(...(found ?? []));
    token = next;
  } while (token);
  return items;
}

function statuses(points) {
  const counts = {};
  for (const point of points) counts[point.Status] = (counts[point.Status] ?? 0) + 1;
  return Object.entries(counts)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
}
