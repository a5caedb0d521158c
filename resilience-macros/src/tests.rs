//! Expansion snapshots: what users get, formatted with prettyplease. They
//! double as documentation (see `src/snapshots/`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::Kind;
use crate::expand;

#[track_caller]
fn snapshot(name: &str, kind: Kind, args: TokenStream, item: TokenStream) {
    let input = if args.is_empty() {
        format!("#[{}]\n{}", kind.name(), item)
    } else {
        format!("#[{}({})]\n{}", kind.name(), args, item)
    };
    let output = expand::attribute(kind, args, item);
    let formatted = match syn::parse2::<syn::File>(output.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => panic!("expansion of {name} is not valid Rust: {error}\n{output}"),
    };
    insta::with_settings!({ description => input, omit_expression => true }, {
        insta::assert_snapshot!(name, formatted);
    });
}

#[test]
fn retry_defaults() {
    snapshot(
        "retry_defaults",
        Kind::Retry,
        quote!(),
        quote! {
            async fn ask(model: &Model, prompt: String) -> Result<Answer, AgentError> {
                model.complete(&prompt).await
            }
        },
    );
}

#[test]
fn retry_every_key() {
    snapshot(
        "retry_every_key",
        Kind::Retry,
        quote!(
            attempts = 5,
            backoff = exponential,
            delay = "250ms",
            factor = 3.0,
            max_delay = "10s",
            jitter = decorrelated,
            max_elapsed = "1m",
            when = AgentError::is_transient,
            retry_after = AgentError::retry_after
        ),
        quote! {
            async fn ask(&mut self, prompt: String) -> Result<Answer, AgentError> {
                self.calls += 1;
                self.model.complete(&prompt).await
            }
        },
    );
}

#[test]
fn escalate_over_retry() {
    snapshot(
        "escalate_over_retry",
        Kind::Escalate,
        quote!(tiers = STRATEGIES, when = AgentError::is_transient),
        quote! {
            #[retry(attempts = 2)]
            async fn solve(&mut self, task: String, #[tier] strategy: &Strategy) -> Result<Answer, AgentError> {
                self.run_with(strategy.agents, strategy.model, &task).await
            }
        },
    );
}

#[test]
fn timeout_only() {
    snapshot(
        "timeout_only",
        Kind::Timeout,
        quote!("30s"),
        quote! {
            pub async fn ask(&self, prompt: &str) -> Result<Answer, AgentError> {
                self.model.complete(prompt).await
            }
        },
    );
}

#[test]
fn fallback_default_when() {
    snapshot(
        "fallback_default_when",
        Kind::Fallback,
        quote!(default = Answer::empty(), when = AgentError::is_recoverable),
        quote! {
            async fn ask(prompt: &str) -> Result<Answer, AgentError> {
                let answer = call(prompt).await?;
                Ok(answer)
            }
        },
    );
}

#[test]
fn full_stack() {
    snapshot(
        "full_stack",
        Kind::Fallback,
        quote!(with = ask_backup_agent),
        quote! {
            #[retry(attempts = 3, delay = "100ms", jitter)]
            #[timeout(seconds = 2)]
            async fn ask(model: &Model, prompt: String) -> Result<Answer, AgentError> {
                model.complete(prompt).await
            }
        },
    );
}

#[test]
fn timeout_around_retry() {
    snapshot(
        "timeout_around_retry",
        Kind::Timeout,
        quote!("5s"),
        quote! {
            #[retry(attempts = 4, backoff = constant, delay = "1s")]
            async fn ask(self: Arc<Self>, (a, b): (u32, u32)) -> Result<u32, AgentError> {
                self.add(a, b).await
            }
        },
    );
}

#[test]
fn compensate_with_retry() {
    snapshot(
        "compensate_with_retry",
        Kind::Compensate,
        quote!(with = delete_resource),
        quote! {
            #[retry(attempts = 2)]
            async fn create_resource(api: &Api, spec: &Spec) -> Result<ResourceId, ApiError> {
                api.create(spec).await
            }
        },
    );
}

#[test]
fn workflow_two_steps() {
    let input = quote! {
        /// Create a resource, then configure it; delete it again if configuring fails.
        pub workflow Provision(api: Api, spec: Spec) -> Result<Configured, ApiError> {
            #[retry(attempts = 3)]
            #[compensate(with = { let api = api.clone(); move |rid| async move { api.delete_resource(rid).await } })]
            step create: ResourceId = api.create_resource(spec).await;

            #[timeout("10s")]
            step configure: Configured = api.configure_resource(create).await;

            configure
        }
    };
    workflow_snapshot("workflow_two_steps", input);
}

/// A workflow without `#[compensate]`: a fresh `run` is the steps as a line
/// of awaits inside a `Straight` (the error made out of line).
#[test]
fn workflow_nothing_to_undo() {
    let input = quote! {
        workflow Ten(seed: u64) -> Result<u64, BenchError> {
            step s1: u64 = step(seed).await;
            step s2: u64 = step(s1).await;
            s2
        }
    };
    workflow_snapshot("workflow_nothing_to_undo", input);
}

#[track_caller]
fn workflow_snapshot(name: &str, input: TokenStream) -> syn::File {
    let output = crate::workflow::expand(input.clone());
    let file = syn::parse2::<syn::File>(output.clone())
        .unwrap_or_else(|error| panic!("workflow! expansion is not valid Rust: {error}\n{output}"));
    assert!(
        !output.to_string().contains("compile_error"),
        "{name} expands to an error: {output}"
    );
    insta::with_settings!({ description => format!("workflow! {{ {input} }}"), omit_expression => true }, {
        insta::assert_snapshot!(name, prettyplease::unparse(&file));
    });
    file
}

/// The text that `diagram()` returns, from the expansion.
fn diagram_of(file: &syn::File) -> String {
    for item in &file.items {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        for item in &block.items {
            if let syn::ImplItem::Fn(f) = item
                && f.sig.ident == "diagram"
                && let Some(syn::Stmt::Expr(syn::Expr::Lit(lit), None)) = f.block.stmts.last()
                && let syn::Lit::Str(text) = &lit.lit
            {
                return text.value();
            }
        }
    }
    panic!("no diagram in the expansion");
}

/// A fan-out step (policies and compensation per branch) between two
/// plain steps, and its diagram.
#[test]
fn workflow_fan_out() {
    let file = workflow_snapshot(
        "workflow_fan_out",
        quote! {
            /// Summarize every document, then index the summaries.
            pub workflow Digest(api: Api, docs: Vec<Doc>) -> Result<usize, AppError> {
                #[compensate(with = { let api = api.clone(); move |p| async move { api.unplan(p).await } })]
                step plan: Plan = api.plan(docs).await;

                #[retry(attempts = 2)]
                #[compensate(with = { let api = api.clone(); move |summary| async move { api.forget(summary).await } })]
                step summaries: Branches<Summary, AppError> =
                    for doc in docs, concurrency = 8, min_success = 0.8 => api.summarize(plan, doc).await;

                step indexed: usize = api.index(summaries).await;

                indexed
            }
        },
    );
    insta::assert_snapshot!("workflow_fan_out_diagram", diagram_of(&file));
}

/// A consensus step with every setting, and its diagram.
#[test]
fn workflow_consensus() {
    let file = workflow_snapshot(
        "workflow_consensus",
        quote! {
            /// Critics review a draft; the majority decides.
            pub workflow Review(critics: Vec<Named<Critic>>, draft: String) -> Result<Verdict, AppError> {
                #[retry(attempts = 2)]
                step verdict: Verdict = consensus critic in critics, time_limit = "20s",
                    response_rate = 0.6, majority = 0.5, key = Verdict::approves
                    => critic.review(draft).await;

                verdict
            }
        },
    );
    insta::assert_snapshot!("workflow_consensus_diagram", diagram_of(&file));
}

/// A fan-out in a durable workflow: its branches are checkpointed through
/// the hooks (`BranchHooks`), which stop the run when a checkpoint fails.
#[cfg(feature = "durable")]
#[test]
fn workflow_durable_fan_out() {
    workflow_snapshot(
        "workflow_durable_fan_out",
        quote! {
            pub durable workflow Crawl(crawler: Crawler, pages: Vec<String>) -> Result<usize, AppError> {
                #[compensate(with = |page| crawler.forget(page))]
                step fetched: Branches<Page, AppError> =
                    for page in pages, concurrency = 4, min_success = 0.5 => crawler.fetch(page).await;

                fetched.len()
            }
        },
    );
}

/// A `durable workflow`: the serde of its state and inputs, `run_durable`,
/// `submit_durable`, `resume_durable`, and `impl DurableWorkflow` (what a
/// worker runs it by).
#[cfg(feature = "durable")]
#[test]
fn durable_workflow_one_step() {
    let input = quote! {
        durable workflow Research(topic: String) -> Result<Summary, SearchError> {
            step summary: Summary = search(topic).await;
            summary
        }
    };
    let output = crate::workflow::expand(input.clone());
    let file = syn::parse2::<syn::File>(output.clone())
        .unwrap_or_else(|error| panic!("workflow! expansion is not valid Rust: {error}\n{output}"));
    insta::with_settings!({ description => format!("workflow! {{ {input} }}"), omit_expression => true }, {
        insta::assert_snapshot!("durable_workflow_one_step", prettyplease::unparse(&file));
    });
}

/// With the facade's `durable` feature off, `durable workflow` is one error
/// at `durable` that says how to turn it on (`cargo test -p
/// resilience-macros --no-default-features` runs this; CI does).
#[cfg(not(feature = "durable"))]
#[test]
fn durable_workflow_without_the_feature_is_an_error_at_durable() {
    let output = crate::workflow::expand(quote! {
        durable workflow Flow(x: u32) -> Result<u32, E> {
            step one: u32 = f(x).await;
            one
        }
    });
    let text = output.to_string();
    assert_eq!(text.matches("compile_error").count(), 1, "{text}");
    assert!(
        text.contains("`durable workflow` needs the `durable` feature"),
        "{text}"
    );
}

/// With the facade's `chaos` feature off (the default), `#[chaos]` leaves
/// the fn exactly as written, token for token; stacked, the expansion is
/// that of the other attributes alone. `cargo test --workspace` runs this.
#[cfg(not(feature = "chaos"))]
#[test]
fn chaos_without_the_feature_is_the_fn_as_written() {
    let item = quote! {
        /// Docs stay.
        pub async fn ask(&self, prompt: String) -> Result<Answer, AgentError> {
            self.model.complete(&prompt).await
        }
    };
    let output = expand::attribute(Kind::Chaos, quote!(state = CHAOS), item.clone());
    assert_eq!(output.to_string(), item.to_string());

    let with_chaos = quote! {
        #[chaos(state = self.chaos)]
        async fn ask(model: &Model, prompt: String) -> Result<Answer, AgentError> {
            model.complete(&prompt).await
        }
    };
    let without = quote! {
        async fn ask(model: &Model, prompt: String) -> Result<Answer, AgentError> {
            model.complete(&prompt).await
        }
    };
    let stacked = expand::attribute(Kind::Retry, quote!(attempts = 3), with_chaos).to_string();
    let alone = expand::attribute(Kind::Retry, quote!(attempts = 3), without).to_string();
    // The sibling marker that keeps `use resilience::chaos` in use, and
    // expands to nothing.
    let marker = quote!(#[chaos(__resilience_sibling)]).to_string();
    assert_eq!(stacked.replacen(&marker, "", 1).trim(), alone.trim());
}

/// Misuse is an error with the feature off too: turning it on later finds
/// nothing new to fix.
#[cfg(not(feature = "chaos"))]
#[test]
fn chaos_without_the_feature_still_checks_its_arguments() {
    let item = quote!(
        async fn ask() -> Result<u8, E> {
            Ok(1)
        }
    );
    let output = expand::attribute(Kind::Chaos, quote!(rate = 0.3), item).to_string();
    assert!(output.contains("compile_error"), "{output}");
    assert!(
        output.contains("is set on the `resilience::Chaos`"),
        "{output}"
    );
}

#[cfg(feature = "chaos")]
#[test]
fn chaos_under_retry() {
    snapshot(
        "chaos_under_retry",
        Kind::Retry,
        quote!(attempts = 3),
        quote! {
            #[chaos(state = CHAOS)]
            async fn ask(model: &Model, prompt: String) -> Result<Answer, AgentError> {
                model.complete(&prompt).await
            }
        },
    );
}

#[test]
fn circuit_breaker_on_a_field() {
    snapshot(
        "circuit_breaker_on_a_field",
        Kind::CircuitBreaker,
        quote!(state = self.breaker),
        quote! {
            pub async fn ask(&self, prompt: &str) -> Result<Answer, AgentError> {
                self.model.complete(prompt).await
            }
        },
    );
}

#[test]
fn circuit_breaker_over_retry_and_timeout() {
    snapshot(
        "circuit_breaker_over_retry_and_timeout",
        Kind::CircuitBreaker,
        quote!(state = SEARCH, when = AgentError::is_transient),
        quote! {
            #[retry(attempts = 3, delay = "100ms")]
            #[timeout("2s")]
            async fn search(api: &Api, query: String) -> Result<Hits, AgentError> {
                api.search(&query).await
            }
        },
    );
}

#[test]
fn retry_over_circuit_breaker() {
    snapshot(
        "retry_over_circuit_breaker",
        Kind::Retry,
        quote!(attempts = 3),
        quote! {
            #[circuit_breaker(state = SEARCH, when = |e: &AgentError| !e.is_refusal())]
            async fn search(api: &Api, query: String) -> Result<Hits, AgentError> {
                let hits = api.search(&query).await?;
                Ok(hits)
            }
        },
    );
}

#[test]
fn circuit_breaker_misuse_is_reported_at_the_token() {
    let item = quote!(
        async fn ask() -> Result<u8, E> {
            Ok(1)
        }
    );
    let cases = [
        (
            quote!(failures = 5),
            "`failures` is set on the `resilience::CircuitBreaker` that `state` names, not on the attribute: `BreakerPolicy::consecutive(5)`",
        ),
        (
            quote!(state = BREAKER, treshold = 3),
            "unknown key `treshold` in `#[circuit_breaker]`; expected one of: `state`, `when`",
        ),
        (
            quote!(BREAKER),
            "`#[circuit_breaker]` takes `key = value` arguments; write `state = BREAKER`",
        ),
        (quote!(), "`#[circuit_breaker]` needs `state = PATH`"),
        (
            quote!(state = "search"),
            "`state` names a `resilience::CircuitBreaker` (a `static` or a field), not a literal",
        ),
        (
            quote!(state = BREAKER, state = OTHER),
            "duplicate `state` in `#[circuit_breaker]`",
        ),
        (
            quote!(state = BREAKER, when = 3),
            "`when` takes a path to a `fn(&E) -> bool`",
        ),
    ];
    for (args, message) in cases {
        let output =
            expand::attribute(Kind::CircuitBreaker, args.clone(), item.clone()).to_string();
        assert!(output.contains("compile_error"), "{args}: {output}");
        assert!(output.contains(message), "{args}: {output}");
        // The fn is still emitted.
        assert!(output.contains("async fn ask"), "{args}: {output}");
    }
}

#[test]
fn bulkhead_own_limit() {
    snapshot(
        "bulkhead_own_limit",
        Kind::Bulkhead,
        quote!(max = 8, queue = 16, wait = "100ms"),
        quote! {
            async fn ask(model: &Model, prompt: &str) -> Result<Answer, AgentError> {
                model.complete(prompt).await
            }
        },
    );
}

#[test]
fn bulkhead_shared_under_retry() {
    snapshot(
        "bulkhead_shared_under_retry",
        Kind::Retry,
        quote!(attempts = 3),
        quote! {
            #[bulkhead(state = self.slots)]
            async fn ask(&self, prompt: String) -> Result<Answer, AgentError> {
                self.model.complete(&prompt).await
            }
        },
    );
}

#[test]
fn hedge_defaults() {
    snapshot(
        "hedge_defaults",
        Kind::Hedge,
        quote!(),
        quote! {
            async fn ask(&self, prompt: String) -> Result<Answer, AgentError> {
                self.model.complete(&prompt).await
            }
        },
    );
}

#[test]
fn hedge_race_over_timeout() {
    snapshot(
        "hedge_race_over_timeout",
        Kind::Hedge,
        quote!(after = 0, attempts = 3),
        quote! {
            #[timeout("30s")]
            async fn ask(model: &Model, prompt: &str) -> Result<Answer, AgentError> {
                model.complete(prompt).await
            }
        },
    );
}

#[test]
fn self_healing_over_retry() {
    snapshot(
        "self_healing_over_retry",
        Kind::SelfHealing,
        quote!(state = self.health, max_failures = 3),
        quote! {
            #[retry(attempts = 3, delay = "20ms")]
            #[timeout("60ms")]
            async fn ask(&mut self, prompt: String) -> Result<Answer, AgentError> {
                let model = self.health.cure().unwrap_or_else(|| self.primary.clone());
                model.complete(&prompt).await
            }
        },
    );
}

#[test]
fn self_healing_defaults() {
    snapshot(
        "self_healing_defaults",
        Kind::SelfHealing,
        quote!(state = HEALTH),
        quote! {
            async fn ask(model: &Model, prompt: &str) -> Result<Answer, AgentError> {
                model.complete(prompt).await
            }
        },
    );
}

#[test]
fn agent_over_self_healing() {
    snapshot(
        "agent_over_self_healing",
        Kind::Agent,
        quote!(name = self.name),
        quote! {
            #[self_healing(state = self.health)]
            #[timeout("30s")]
            async fn ask(&self, prompt: &str) -> Result<Answer, AgentError> {
                self.model.complete(prompt).await
            }
        },
    );
}

#[test]
fn agent_only() {
    snapshot(
        "agent_only",
        Kind::Agent,
        quote!(name = "planner"),
        quote! {
            async fn plan(&self, goal: &str) -> Result<Plan, AgentError> {
                let draft = self.model.complete(goal).await?;
                Ok(Plan::from(draft))
            }
        },
    );
}

#[test]
fn rate_limit_own() {
    snapshot(
        "rate_limit_own",
        Kind::RateLimit,
        quote!(per_second = 10, burst = 20),
        quote! {
            async fn ask(model: &Model, prompt: &str) -> Result<Answer, AgentError> {
                model.complete(prompt).await
            }
        },
    );
}

#[test]
fn rate_limit_shared_refusing() {
    snapshot(
        "rate_limit_shared_refusing",
        Kind::RateLimit,
        quote!(state = self.limiter, wait = false),
        quote! {
            async fn ask(&mut self, prompt: &str) -> Result<Answer, AgentError> {
                self.calls += 1;
                self.model.complete(prompt).await
            }
        },
    );
}

#[test]
fn retry_over_rate_limit_with_server_jitter() {
    snapshot(
        "retry_over_rate_limit_with_server_jitter",
        Kind::Retry,
        quote!(
            attempts = 5,
            retry_after = AgentError::retry_after,
            retry_after_jitter = "10%"
        ),
        quote! {
            #[rate_limit(per_minute = 500, max_wait = "2s")]
            async fn ask(model: &Model, prompt: &str) -> Result<Answer, AgentError> {
                model.complete(prompt).await
            }
        },
    );
}

#[test]
fn a_breaker_state_in_screaming_case_is_taken_for_a_static() {
    let params: Vec<syn::Ident> = vec![syn::parse_quote!(PARAM), syn::parse_quote!(prompt)];
    let named = |tokens: TokenStream| {
        let state: syn::Expr = syn::parse2(tokens).expect("an expression");
        expand::names_a_static(&state, &params)
    };
    for state in [
        quote!(BREAKER),
        quote!(crate::BREAKER),
        quote!(super::agents::SEARCH_2),
        quote!(::deps::B),
    ] {
        assert!(named(state.clone()), "{state}");
    }
    for state in [
        quote!(self.breaker),
        quote!(breaker),
        quote!(Breaker),
        quote!(Self::BREAKER),
        quote!(self::BREAKER),
        quote!(PARAM),
        quote!(Pool::<u8>::BREAKER),
        quote!(&BREAKER),
        quote!(_),
        quote!(BREAKERS[0]),
    ] {
        assert!(!named(state.clone()), "{state}");
    }
}
