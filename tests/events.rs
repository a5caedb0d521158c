//! Events seen by code that watches: the durable driver reports every save,
//! whatever the store, and a scope keeps a watcher's events apart from the
//! rest of the process.

use resilience::events::{OwnedEventKind, Scope};
use resilience::{MemoryStore, workflow};

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("refused")]
struct Refused;

workflow! {
    durable workflow Counted(start: u32) -> Result<u32, Refused> {
        step one: u32 = async { Ok::<_, Refused>(*start + 1) }.await;
        step two: u32 = async { Ok::<_, Refused>(*one + 1) }.await;
        two
    }
}

#[tokio::test]
async fn the_durable_driver_reports_each_checkpoint() {
    let store = MemoryStore::new();
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let out = scope
        .run(Counted::new(1).run_durable(&store, "run-7"))
        .await
        .unwrap();
    assert_eq!(out, 3);
    let seen: Vec<_> = std::iter::from_fn(|| events.try_recv()).collect();
    let kinds: Vec<_> = seen.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            OwnedEventKind::Checkpointed {
                id: "run-7".into(),
                position: 1
            },
            OwnedEventKind::Checkpointed {
                id: "run-7".into(),
                position: 2
            },
        ]
    );
    assert_eq!(seen[0].operation, "Counted");
    assert_eq!(
        seen[1].to_string(),
        "`Counted` id `run-7` checkpointed after 2 steps"
    );
}

#[tokio::test]
async fn two_watchers_of_the_same_workflow_see_only_their_own_runs() {
    let store = MemoryStore::new();
    let (a, b) = (Scope::new(), Scope::new());
    let (mut seen_a, mut seen_b) = (a.subscribe(), b.subscribe());
    let (run_a, run_b) = tokio::join!(
        a.run(Counted::new(10).run_durable(&store, "a")),
        b.run(Counted::new(20).run_durable(&store, "b")),
    );
    assert_eq!((run_a.unwrap(), run_b.unwrap()), (12, 22));
    let ids = |sub: &mut resilience::events::Subscription| -> Vec<String> {
        std::iter::from_fn(|| sub.try_recv())
            .map(|e| match e.kind {
                OwnedEventKind::Checkpointed { id, .. } => id,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    };
    assert_eq!(ids(&mut seen_a), ["a", "a"]);
    assert_eq!(ids(&mut seen_b), ["b", "b"]);
}
