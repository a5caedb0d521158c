//! Group commit: concurrent saves share one statement and one commit, each
//! row fenced on its own.

// A test binary: nothing here is public API, so these lints of the
// workspace table do not apply.
#![allow(missing_docs, missing_debug_implementations, unreachable_pub)]

mod support;

use resilience::checkpoint::{Checkpoint, CheckpointError, CheckpointStore, Phase};
use resilience_postgres::PostgresStore;
use tokio::task::JoinSet;

fn running(workflow: &str, position: u32) -> Checkpoint {
    Checkpoint::new(
        workflow,
        0xfeed,
        position,
        Phase::Running,
        format!("{{\"After\":{position}}}").into_bytes(),
    )
}

/// How many transactions wrote the rows of `workflow` last.
async fn commits(client: &tokio_postgres::Client, workflow: &str) -> i64 {
    client
        .query_one(
            "SELECT count(DISTINCT xmin::text) FROM resilience_checkpoints WHERE workflow = $1",
            &[&workflow],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_saves_share_a_few_commits_and_each_is_written() {
    let Some(url) = support::database().await else {
        return;
    };
    let store = PostgresStore::connect(&url).await.unwrap();
    let mut leases = Vec::new();
    for i in 0..200 {
        leases.push(store.claim("Batch", &i.to_string()).await.unwrap());
    }
    let mut saves = JoinSet::new();
    for (i, lease) in leases.into_iter().enumerate() {
        let store = store.clone();
        saves.spawn(async move {
            let result = store.save(&lease, &running("Batch", i as u32 + 1)).await;
            (lease, result)
        });
    }
    let mut leases = Vec::new();
    while let Some(joined) = saves.join_next().await {
        let (lease, result) = joined.unwrap();
        result.unwrap();
        leases.push(lease);
    }
    for lease in &leases {
        let id: u32 = resilience::checkpoint::CheckpointLease::id(lease)
            .parse()
            .unwrap();
        assert_eq!(
            store.load(lease).await.unwrap(),
            Some(running("Batch", id + 1))
        );
    }
    let admin = support::connect(&url).await;
    let commits = commits(&admin, "Batch").await;
    println!("200 concurrent saves, {commits} commits");
    assert!(
        commits <= 20,
        "{commits} transactions for 200 concurrent saves: not grouped"
    );
}

#[tokio::test]
async fn a_fenced_off_row_fails_only_its_own_save() {
    let Some(url) = support::database().await else {
        return;
    };
    let store = PostgresStore::connect(&url).await.unwrap();
    let mut leases = Vec::new();
    for i in 0..20 {
        leases.push(store.claim("Fenced", &i.to_string()).await.unwrap());
    }
    // Another worker took id 7 over: a higher epoch on its row.
    let admin = support::connect(&url).await;
    admin
        .execute(
            "UPDATE resilience_checkpoints SET epoch = epoch + 1000, owner = 'other'
              WHERE workflow = 'Fenced' AND id = '7'",
            &[],
        )
        .await
        .unwrap();
    // All twenty saves at once (joined in one task, so they are queued
    // before the committer runs: one batch).
    let checkpoints: Vec<Checkpoint> = (0..20).map(|i| running("Fenced", i + 1)).collect();
    let results = {
        let saves = leases
            .iter()
            .zip(&checkpoints)
            .map(|(lease, checkpoint)| store.save(lease, checkpoint));
        join_all(saves).await
    };
    for (i, result) in results.iter().enumerate() {
        if i == 7 {
            assert!(
                matches!(result, Err(CheckpointError::LeaseLost { .. })),
                "{result:?}"
            );
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
        }
    }
    assert!(leases[7].is_lost());
    let row = admin
        .query_one(
            "SELECT checkpoint IS NULL, owner FROM resilience_checkpoints
              WHERE workflow = 'Fenced' AND id = '7'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the new owner's row was not written");
    assert_eq!(row.get::<_, &str>(1), "other");
    let written = admin
        .query_one(
            "SELECT count(*), count(DISTINCT xmin::text) FROM resilience_checkpoints
              WHERE workflow = 'Fenced' AND checkpoint IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(written.get::<_, i64>(0), 19);
    assert_eq!(
        written.get::<_, i64>(1),
        1,
        "the nineteen were written in one commit, beside the refused one"
    );
}

#[tokio::test]
async fn saves_of_one_lease_commit_in_the_order_they_were_made() {
    let Some(url) = support::database().await else {
        return;
    };
    let store = PostgresStore::connect(&url).await.unwrap();
    let lease = store.claim("Order", "1").await.unwrap();
    for round in 0..20 {
        let (first, second) = (running("Order", 2 * round), running("Order", 2 * round + 1));
        let (a, b) = tokio::join!(store.save(&lease, &first), store.save(&lease, &second));
        a.unwrap();
        b.unwrap();
        assert_eq!(
            store.load(&lease).await.unwrap(),
            Some(second),
            "round {round}"
        );
    }
}

/// Awaits every future, in order, polling them together.
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}
