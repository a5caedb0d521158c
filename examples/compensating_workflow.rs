//! A compensating workflow (a saga): create a resource, configure it, and if
//! configuring fails, delete the resource again.
//!
//! An agent platform gives each coding agent a sandbox VM. Provisioning one
//! is a `workflow!` of two steps:
//!
//! - `create` makes the VM. It is `#[retry] #[timeout]` (each attempt gets
//!   its own time limit) and `#[compensate(with = ...)]`: if a later step
//!   fails, the VM it created is deleted;
//! - `configure` installs the agent's network policy, under a `#[timeout]`.
//!
//! Part 1 asks for a policy that the cloud rejects: `configure` fails, and
//! the workflow rolls back by deleting the VM. Every compensation is printed
//! as it happens (from `resilience::events::observe`), then the `SagaError`
//! says which step failed, with what error, which steps had completed and
//! what each compensation did. Part 2 runs the same workflow with a valid
//! policy, and everything succeeds. Part 3 shows the same idea without a
//! `workflow!`: two `#[compensate]` async fns called inside
//! `resilience::saga(async { .. })`, undone in reverse order when a third
//! call fails.
//!
//! The cloud is simulated: it follows a fixed script, so every run tells the
//! same story (only the millisecond timestamps wobble a little), and no
//! network is used.
//!
//! Run it with `cargo run --example compensating_workflow`.

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use resilience::{Elapsed, SagaError, compensate, events, workflow};
use tokio::time::sleep;

// ---------------------------------------------------------------------------
// The simulated cloud
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
enum CloudError {
    /// A call ran out of time (`#[timeout]` produces this).
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    #[error("quota exceeded in {0} (HTTP 429)")]
    Quota(&'static str),
    #[error("policy `{policy}` rejected: {reason}")]
    Rejected {
        policy: &'static str,
        reason: &'static str,
    },
    #[error("{0} not found")]
    NotFound(VmId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct VmId(u32);

impl Display for VmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vm-{}", self.0)
    }
}

/// What the agent's sandbox should look like.
struct Spec {
    agent: &'static str,
    region: &'static str,
    /// The network policy that `configure` installs.
    policy: &'static str,
}

/// What a `create_vm` request does.
#[derive(Clone, Copy)]
enum Create {
    /// Answers after 10ms with a new VM.
    Ok,
    /// Fails after 10ms: the region is out of quota.
    Quota,
    /// Hangs for far longer than any time limit.
    Stall,
}

/// A fake cloud: plays a script of `create_vm` outcomes (repeating the last
/// one), rejects one network policy, and keeps an inventory of its VMs.
struct Cloud {
    create_script: &'static [Create],
    create_calls: Mutex<usize>,
    next_id: Mutex<u32>,
    /// Every VM, and the policy installed on it, if any.
    vms: Mutex<BTreeMap<VmId, Option<&'static str>>>,
}

impl Cloud {
    fn new(create_script: &'static [Create]) -> Self {
        Self {
            create_script,
            create_calls: Mutex::new(0),
            next_id: Mutex::new(1),
            vms: Mutex::new(BTreeMap::new()),
        }
    }

    async fn create_vm(&self, spec: &Spec) -> Result<VmId, CloudError> {
        let outcome = {
            let mut calls = self.create_calls.lock().unwrap();
            let last = self.create_script.len() - 1;
            let outcome = self.create_script[(*calls).min(last)];
            *calls += 1;
            outcome
        };
        log(
            "cloud",
            format!("create_vm for `{}` in {} ...", spec.agent, spec.region),
        );
        match outcome {
            Create::Stall => {
                sleep(Duration::from_secs(10)).await;
                unreachable!("the step's #[timeout] cancels this call first")
            }
            Create::Quota => {
                sleep(Duration::from_millis(10)).await;
                log("cloud", "  ... quota exceeded");
                Err(CloudError::Quota(spec.region))
            }
            Create::Ok => {
                sleep(Duration::from_millis(10)).await;
                let id = {
                    let mut next = self.next_id.lock().unwrap();
                    *next += 1;
                    VmId(*next - 1)
                };
                self.vms.lock().unwrap().insert(id, None);
                log("cloud", format!("  ... created {id}"));
                Ok(id)
            }
        }
    }

    async fn configure_vm(&self, id: VmId, spec: &Spec) -> Result<String, CloudError> {
        log(
            "cloud",
            format!("configure {id}: install policy `{}` ...", spec.policy),
        );
        sleep(Duration::from_millis(15)).await;
        if spec.policy == "deny-all-egress" {
            log("cloud", "  ... rejected");
            return Err(CloudError::Rejected {
                policy: spec.policy,
                reason: "the agent could not reach its model endpoint",
            });
        }
        self.vms.lock().unwrap().insert(id, Some(spec.policy));
        log("cloud", "  ... configured");
        Ok(format!(
            "https://{}.{}.sandbox.example",
            spec.agent, spec.region
        ))
    }

    /// The compensation of `create_vm`.
    async fn delete_vm(&self, id: VmId) -> Result<(), CloudError> {
        log("cloud", format!("delete {id} ..."));
        sleep(Duration::from_millis(10)).await;
        match self.vms.lock().unwrap().remove(&id) {
            Some(_) => {
                log("cloud", format!("  ... {id} deleted"));
                Ok(())
            }
            None => Err(CloudError::NotFound(id)),
        }
    }

    /// The inventory, for the end of each run: was anything left behind?
    fn inventory(&self) -> String {
        let vms = self.vms.lock().unwrap();
        if vms.is_empty() {
            return "none".to_owned();
        }
        let list: Vec<String> = vms
            .iter()
            .map(|(id, policy)| match policy {
                Some(policy) => format!("{id} (policy `{policy}`)"),
                None => format!("{id} (not configured)"),
            })
            .collect();
        list.join(", ")
    }
}

// ---------------------------------------------------------------------------
// The workflow
// ---------------------------------------------------------------------------

/// A sandbox that is ready for its agent.
#[derive(Debug)]
struct Sandbox {
    vm: VmId,
    endpoint: String,
}

workflow! {
    /// Provisions a sandbox VM for an agent: create it, then configure it;
    /// if configuring fails, the VM is deleted again.
    workflow Provision(cloud: Arc<Cloud>, spec: Spec) -> Result<Sandbox, CloudError> {
        /// Each attempt may take 50ms; a failed one is retried after 20ms.
        #[retry(attempts = 3, backoff = constant, delay = "20ms")]
        #[timeout("50ms")]
        #[compensate(with = { let cloud = cloud.clone(); move |vm| async move { cloud.delete_vm(vm).await } })]
        step create: VmId = cloud.create_vm(spec).await;

        #[timeout("100ms")]
        step configure: String = cloud.configure_vm(*create, spec).await;

        Sandbox { vm: create, endpoint: configure }
    }
}

// ---------------------------------------------------------------------------
// Part 3: a fn-level saga
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
enum TripError {
    #[error("no ticket for {0}: the airline's ticketing system is down")]
    TicketingDown(&'static str),
}

#[derive(Clone, Debug)]
struct Seat {
    flight: &'static str,
    seat: &'static str,
}

#[derive(Clone, Debug)]
struct Payment {
    id: &'static str,
    euros: u32,
}

/// Step 1: hold a seat. Undone by `release_seat`.
#[compensate(with = release_seat)]
async fn reserve_seat(flight: &'static str) -> Result<Seat, TripError> {
    sleep(Duration::from_millis(10)).await;
    let seat = Seat {
        flight,
        seat: "14C",
    };
    log("airline", format!("seat {} held on {flight}", seat.seat));
    Ok(seat)
}

async fn release_seat(seat: Seat) -> Result<(), TripError> {
    sleep(Duration::from_millis(10)).await;
    log(
        "airline",
        format!("seat {} on {} released", seat.seat, seat.flight),
    );
    Ok(())
}

/// Step 2: charge the card. Undone by `refund`.
#[compensate(with = refund)]
async fn charge_card(euros: u32) -> Result<Payment, TripError> {
    sleep(Duration::from_millis(10)).await;
    let payment = Payment {
        id: "pay-381",
        euros,
    };
    log("bank", format!("charged €{euros} ({})", payment.id));
    Ok(payment)
}

async fn refund(payment: Payment) -> Result<(), TripError> {
    sleep(Duration::from_millis(10)).await;
    log(
        "bank",
        format!("refunded €{} ({})", payment.euros, payment.id),
    );
    Ok(())
}

/// Step 3: issue the ticket. Fails; it has nothing to undo.
async fn issue_ticket(seat: &Seat, _payment: &Payment) -> Result<String, TripError> {
    sleep(Duration::from_millis(10)).await;
    log(
        "airline",
        format!("issuing a ticket for {} ...", seat.flight),
    );
    Err(TripError::TicketingDown(seat.flight))
}

// ---------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn log(who: &str, what: impl Display) {
    let ms = (start().elapsed().as_micros() + 500) / 1000;
    println!("[{ms:>4}ms] {who:<8} | {what}");
}

fn heading(title: &str) {
    println!("\n=== {title} ===\n");
}

/// Everything a `SagaError` says, one line each.
fn explain<E: Display>(error: &SagaError<E>) {
    println!("  error:             {error}");
    println!(
        "  failed step:       {}",
        error
            .failed_step()
            .unwrap_or("(not named: the failing call has no #[compensate])")
    );
    println!("  failure:           {}", error.failure());
    println!("  completed steps:   {:?}", error.completed());
    println!("  compensations, in the order they ran:");
    for report in error.compensations() {
        match &report.outcome {
            Ok(()) => println!("    - `{}`: undone", report.step),
            Err(why) => println!("    - `{}`: NOT undone ({why})", report.step),
        }
    }
    println!(
        "  fully compensated: {}",
        if error.is_fully_compensated() {
            "yes"
        } else {
            "no"
        }
    );
}

fn spec(policy: &'static str) -> Spec {
    Spec {
        agent: "coder-7",
        region: "eu-west",
        policy,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("Compensating workflow: create a sandbox VM, configure it, delete it if that fails.");
    println!("(a scripted, simulated cloud: no network)\n");

    println!(
        "workflow `{}`, steps: {}",
        Provision::NAME,
        Provision::STEPS.join(" -> ")
    );
    println!("its Mermaid diagram (paste it into https://mermaid.live):\n");
    print!("{}", Provision::diagram());

    // Every retry, timeout and compensation, printed as it happens.
    let _observer = events::observe(|event| log("event", event));
    start();

    heading("Part 1: `configure` fails, the workflow rolls back");
    // `create_vm` first stalls, then hits the quota, then works.
    let cloud = Arc::new(Cloud::new(&[Create::Stall, Create::Quota, Create::Ok]));
    let workflow = Provision::new(Arc::clone(&cloud), spec("deny-all-egress"));
    log(
        "main",
        format!(
            "running {}: {} steps completed, next: `{}`",
            Provision::NAME,
            workflow.state().position(),
            workflow.state().next_step().unwrap_or("none")
        ),
    );
    match workflow.run().await {
        Ok(sandbox) => log("main", format!("unexpected success: {sandbox:?}")),
        Err(error) => {
            log("main", "Provision failed and was rolled back:");
            explain(&error);
        }
    }
    println!("  VMs left in the cloud: {}", cloud.inventory());

    heading("Part 2: the same workflow, everything succeeds");
    let cloud = Arc::new(Cloud::new(&[Create::Ok]));
    let workflow = Provision::new(Arc::clone(&cloud), spec("egress-to-model-only"));
    match workflow.run().await {
        Ok(sandbox) => log(
            "main",
            format!(
                "sandbox ready: {} at {} (nothing to undo)",
                sandbox.vm, sandbox.endpoint
            ),
        ),
        Err(error) => {
            log("main", "unexpected failure:");
            explain(&error);
        }
    }
    println!("  VMs in the cloud: {}", cloud.inventory());

    heading("Part 3: a fn-level saga, undone in reverse order");
    let booked = resilience::saga(async {
        let seat = reserve_seat("LH 2024").await?;
        let payment = charge_card(420).await?;
        issue_ticket(&seat, &payment).await
    })
    .await;
    match booked {
        Ok(ticket) => log("main", format!("unexpected success: {ticket}")),
        Err(error) => {
            log("main", "the trip was not booked, and was undone:");
            explain(&error);
        }
    }

    println!(
        "\ndone in {}ms",
        (start().elapsed().as_micros() + 500) / 1000
    );
}
