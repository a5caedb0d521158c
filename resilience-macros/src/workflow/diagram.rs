//! `diagram()`: the workflow as a Mermaid flowchart, built at compile time.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Type;

use super::parse::Workflow;
use super::text;
use super::validate::Plan;
use crate::args::Layer;

/// A Mermaid flowchart of the workflow.
pub(super) fn diagram(workflow: &Workflow, plans: &[Plan<'_>], ok_ty: &Type) -> TokenStream {
    let mut lines = vec!["flowchart TD".to_string()];
    let inputs = workflow
        .inputs
        .iter()
        .map(|i| text(&i.name))
        .collect::<Vec<_>>()
        .join(", ");
    lines.push(format!(
        "    start([\"{}({})\"])",
        workflow.name,
        escape(&inputs)
    ));
    for plan in plans {
        let step = &plan.step;
        let ty = escape(&compact(&step.ty.to_token_stream().to_string()));
        let policies = plan
            .layers
            .iter()
            .map(describe)
            .chain(plan.compensate.as_ref().map(|_| "compensate".to_string()))
            .collect::<Vec<_>>();
        // A parallel step: a subgraph of its branches.
        if let (Some(parallel), Some(settings)) = (&step.parallel, &plan.parallel) {
            let nodes = super::parallel::diagram(step, parallel, settings, &policies, &ty, escape);
            lines.extend(nodes);
            continue;
        }
        let label = if policies.is_empty() {
            format!("{}: {}", text(&step.name), ty)
        } else {
            format!(
                "{}: {}<br/>{}",
                text(&step.name),
                ty,
                escape(&policies.join(" · "))
            )
        };
        lines.push(format!("    {}[\"{}\"]", text(&step.name), label));
    }
    lines.push(format!(
        "    done([\"Ok({})\"])",
        escape(&compact(&ok_ty.to_token_stream().to_string()))
    ));
    let chain = std::iter::once("start".to_string())
        .chain(plans.iter().map(|p| text(&p.step.name)))
        .chain(std::iter::once("done".to_string()))
        .collect::<Vec<_>>()
        .join(" --> ");
    lines.push(format!("    {chain}"));
    // Compensation: a failing step hands over to the undo of the last
    // compensated step before it; undos chain backwards to `failed`.
    let compensated: Vec<usize> = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| p.compensate.is_some())
        .map(|(i, _)| i)
        .collect();
    if !compensated.is_empty() {
        for &i in &compensated {
            lines.push(format!(
                "    undo_{0}[/\"undo {0}\"/]",
                text(&plans[i].step.name)
            ));
        }
        lines.push("    failed([\"Err(SagaError)\"])".to_string());
        for (index, plan) in plans.iter().enumerate() {
            if let Some(&last) = compensated.iter().rev().find(|&&c| c < index) {
                lines.push(format!(
                    "    {} -. fails .-> undo_{}",
                    text(&plan.step.name),
                    text(&plans[last].step.name)
                ));
            }
        }
        for pair in compensated.windows(2).rev() {
            lines.push(format!(
                "    undo_{} --> undo_{}",
                text(&plans[pair[1]].step.name),
                text(&plans[pair[0]].step.name)
            ));
        }
        lines.push(format!(
            "    undo_{} --> failed",
            text(&plans[compensated[0]].step.name)
        ));
    }
    let diagram = lines.join("\n") + "\n";
    quote!(#diagram)
}

fn describe(layer: &Layer) -> String {
    match layer {
        Layer::Retry(args) => format!("retry ×{}", args.attempts),
        Layer::Timeout(args) => format!("timeout {}", crate::duration::human(args.limit.nanos)),
        Layer::Fallback(_) => "fallback".to_string(),
        Layer::Compensate(_) => "compensate".to_string(),
        Layer::Escalate(_) => "escalate".to_string(),
        Layer::Chaos(_) => "chaos".to_string(),
        Layer::CircuitBreaker(_) => "circuit breaker".to_string(),
        // Refused on steps (`validate`); named for completeness.
        Layer::Bulkhead(_) => "bulkhead".to_string(),
        Layer::Hedge(_) => "hedge".to_string(),
        Layer::SelfHealing(args) => format!("self-healing ×{}", args.max_failures),
        Layer::Agent(_) => "agent".to_string(),
        Layer::RateLimit(args) => match &args.source {
            crate::args::RateSource::Own { count, per, .. } => {
                format!("rate limit {count} {}", per.replace('_', " "))
            }
            crate::args::RateSource::State(_) => "rate limit".to_string(),
        },
    }
}

/// `Vec < String >` (token spacing) → `Vec<String>`.
fn compact(text: &str) -> String {
    text.replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// Mermaid labels: quotes and angle brackets as entities.
fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
