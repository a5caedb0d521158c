//! The tables and every statement the store runs, in one place.
//!
//! Every statement is one autocommit round trip: no transaction spans two
//! round trips (except the schema set-up), so no row lock outlives a
//! statement and no worker waits on another's network or pauses.

use deadpool_postgres::Client;

use crate::error::backend;
use resilience_runtime::checkpoint::CheckpointError;

/// The table of checkpoints and leases.
pub(crate) const TABLE: &str = "resilience_checkpoints";

/// The schema version this build creates and reads. A later release that
/// changes the tables migrates from the versions before it in
/// [`ensure`], under the same advisory lock.
///
/// - 1: the first.
/// - 2: `attempts`, the number of claims of a run ([`MIGRATE_1_TO_2`]).
pub(crate) const SCHEMA_VERSION: i32 = 2;

/// The location of errors about the store as a whole.
pub(crate) const STORE: &str = "postgres:resilience_checkpoints";

/// An arbitrary key for `pg_advisory_xact_lock`: serializes concurrent
/// schema set-ups (two `CREATE TABLE IF NOT EXISTS` at once can fail).
const SETUP_LOCK: i64 = 0x7265_7369_6c69_656e; // "resilien"

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS resilience_schema (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version integer NOT NULL
);
-- Fencing epochs come from one sequence, so that no two claims ever share
-- one, even of a row deleted and created again.
CREATE SEQUENCE IF NOT EXISTS resilience_epochs;
CREATE TABLE IF NOT EXISTS resilience_checkpoints (
    workflow text NOT NULL,
    id text NOT NULL,
    owner text NOT NULL,
    epoch bigint NOT NULL,
    lease_until timestamptz NOT NULL,
    fingerprint bigint,
    position bigint,
    phase text,
    checkpoint bytea,
    updated_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    PRIMARY KEY (workflow, id)
);";

/// From schema version 1 to 2: claims are counted. Runs in progress count
/// from 0.
const MIGRATE_1_TO_2: &str = "
ALTER TABLE resilience_checkpoints ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
UPDATE resilience_schema SET version = 2;";

/// Takes the lease: inserts the row, or takes it over if its lease expired
/// or this store owns it (a lease of this store that was dropped, whose
/// release has not reached the server yet). The new epoch is higher than
/// every one before it; the claim is counted in `attempts`. No row back: a
/// live lease of another owner holds it.
///
/// One statement: a concurrent claim of the same row waits only for this
/// statement's row lock (no transaction spans a round trip), then sees the
/// live lease and is refused.
pub(crate) const CLAIM: &str = "
INSERT INTO resilience_checkpoints AS c (workflow, id, owner, epoch, lease_until, attempts)
VALUES ($1, $2, $3, nextval('resilience_epochs'), now() + make_interval(secs => $4), 1)
ON CONFLICT (workflow, id) DO UPDATE
   SET owner = EXCLUDED.owner, epoch = EXCLUDED.epoch, lease_until = EXCLUDED.lease_until,
       attempts = c.attempts + 1
 WHERE c.lease_until <= now() OR c.owner = EXCLUDED.owner
RETURNING epoch, attempts";

/// Who holds a row's lease, after a refused claim.
pub(crate) const HOLDER: &str =
    "SELECT owner FROM resilience_checkpoints WHERE workflow = $1 AND id = $2";

/// Renews a live lease. No row: it expired or was taken over.
pub(crate) const RENEW: &str = "
UPDATE resilience_checkpoints SET lease_until = now() + make_interval(secs => $5)
 WHERE workflow = $1 AND id = $2 AND owner = $3 AND epoch = $4 AND lease_until > now()";

// --- group commit (crate::commit) -------------------------------------
/// Writes a batch of checkpoints in one statement, one row per element of
/// the arrays (workflow, id, epoch, checkpoint, fingerprint, position,
/// phase, lease seconds; owner `$9`). Each row is fenced on its own by
/// owner, epoch and a live lease, and its lease renewed (a save is a sign
/// of life). Returns the rows written: a save whose row is missing lost
/// its lease.
pub(crate) const SAVE_BATCH: &str = "
UPDATE resilience_checkpoints AS c
   SET checkpoint = v.checkpoint, fingerprint = v.fingerprint, position = v.position,
       phase = v.phase, updated_at = now(), lease_until = now() + make_interval(secs => v.lease)
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bigint[], $6::bigint[],
              $7::text[], $8::float8[])
       AS v(workflow, id, epoch, checkpoint, fingerprint, position, phase, lease)
 WHERE c.workflow = v.workflow AND c.id = v.id AND c.owner = $9 AND c.epoch = v.epoch
   AND c.lease_until > now()
RETURNING c.workflow, c.id";
// --- end of group commit -------------------------------------------------

/// Deletes the row, fenced by owner and epoch; says whether it held a
/// checkpoint. No row: the lease was lost.
pub(crate) const DELETE: &str = "
DELETE FROM resilience_checkpoints
 WHERE workflow = $1 AND id = $2 AND owner = $3 AND epoch = $4
RETURNING checkpoint IS NOT NULL";

/// Ends a dropped lease at once, fenced by owner and epoch: a row without a
/// checkpoint goes, one with a checkpoint stays with an expired lease.
pub(crate) const RELEASE: &str = "
WITH gone AS (
    DELETE FROM resilience_checkpoints
     WHERE workflow = $1 AND id = $2 AND owner = $3 AND epoch = $4 AND checkpoint IS NULL
)
UPDATE resilience_checkpoints SET lease_until = '-infinity'
 WHERE workflow = $1 AND id = $2 AND owner = $3 AND epoch = $4 AND checkpoint IS NOT NULL";

/// The checkpoint of one row.
pub(crate) const LOAD: &str =
    "SELECT checkpoint FROM resilience_checkpoints WHERE workflow = $1 AND id = $2";

/// Every checkpoint, with the number of claims of its run.
pub(crate) const LIST: &str = "SELECT workflow, id, checkpoint, attempts FROM resilience_checkpoints WHERE checkpoint IS NOT NULL";

/// Creates the tables if they are missing and checks the schema version,
/// in one transaction under an advisory lock: idempotent, and safe when
/// many workers start at once.
pub(crate) async fn ensure(client: &mut Client) -> Result<(), CheckpointError> {
    let failed = |e| backend(STORE, "create the schema", e);
    let tx = client.transaction().await.map_err(failed)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SETUP_LOCK])
        .await
        .map_err(failed)?;
    tx.batch_execute(CREATE).await.map_err(failed)?;
    let row = tx
        .query_opt("SELECT version FROM resilience_schema", &[])
        .await
        .map_err(failed)?;
    match row.map(|row| row.get::<_, i32>(0)) {
        None => {
            tx.execute(
                "INSERT INTO resilience_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )
            .await
            .map_err(failed)?;
        }
        Some(SCHEMA_VERSION) => {}
        Some(1) => tx.batch_execute(MIGRATE_1_TO_2).await.map_err(failed)?,
        Some(version) => {
            return Err(backend(
                "postgres:resilience_schema",
                "use the schema",
                format!(
                    "the tables have schema version {version}, this build reads version \
                     {SCHEMA_VERSION}; upgrade this program"
                ),
            ));
        }
    }
    tx.commit().await.map_err(failed)
}
