//! The child process: an issuer process, an acquirer gateway calling it and a clearing-house
//! process over the shared database, taking deposits on stdin and saying what it does on stdout.

use super::*;
/// The issuer process of this child, as its gateway's only issuer.
pub struct OwnIssuer(IssuerHandle);

impl IssuerGateway for OwnIssuer {
    fn denomination_set(&self, _: BankId) -> GatewayFuture<'_, SignedDenominationSet> {
        let set = self
            .0
            .denomination_set()
            .map(|set| (*set).clone())
            .map_err(|e| GatewayError::refused(e.code(), e.to_string()));
        Box::pin(async move { set })
    }

    fn spend_check(
        &self,
        _: BankId,
        batch: SignedSpendCheckBatch,
    ) -> GatewayFuture<'_, SpendCheckResponse> {
        Box::pin(async move {
            self.0
                .spend_check(batch)
                .await
                .map_err(|e| GatewayError::refused(e.code(), e.to_string()))
        })
    }

    fn refund(
        &self,
        _: BankId,
        notice: semper_protocol::messages::refund::SignedRefundNotice,
    ) -> GatewayFuture<'_, semper_protocol::messages::refund::RefundAnswer> {
        Box::pin(async move {
            self.0
                .refund(notice)
                .await
                .map_err(|e| GatewayError::refused(e.code(), e.to_string()))
        })
    }
}

/// The clearing-house process of this child. Prints `SUBMIT <id> <process>` for each submission
/// handed to it; a stalling one prints `SUBMITTING <id> <process>` and never hands it over.
pub struct PrintingClearing {
    inner: ClearingHandle,
    name: String,
    stall: bool,
}

impl ClearingGateway for PrintingClearing {
    fn submit(
        &self,
        submission: SignedSettlementSubmission,
    ) -> GatewayFuture<'_, SignedSubmissionReceipt> {
        let id = hex::encode(submission.body().submission_id.as_bytes());
        Box::pin(async move {
            if self.stall {
                say(&format!("SUBMITTING {id} {}", self.name));
                std::future::pending::<()>().await;
            }
            say(&format!("SUBMIT {id} {}", self.name));
            ClearingGateway::submit(&self.inner, submission).await
        })
    }

    fn reports_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> GatewayFuture<'_, Vec<SignedSettlementReport>> {
        ClearingGateway::reports_after(&self.inner, after_sequence, limit)
    }
}

/// Delivers reports nowhere: no cycle is cut in these tests.
pub struct NoSink;

impl ReportSink for NoSink {
    fn deliver(&self, _: BankId, _: SignedSettlementReport) -> GatewayFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

pub fn say(line: &str) {
    println!("{line}");
    std::io::stdout().flush().unwrap();
}

/// One coin's result for `permission`, in a word: `accepted`, `replay`, `conflict` (a double
/// spend, with an earlier permission that proves it), `conflict-unproved` (one without) or the
/// refusal's code.
pub fn word(permission: &SignedDepositPermission, result: &DepositResult) -> String {
    match result {
        DepositResult::Accepted => "accepted".into(),
        DepositResult::Replay => "replay".into(),
        DepositResult::Conflict { earlier } => {
            let digest = permission.body_digest();
            if semper_protocol::acquirer::proves_double_spend(permission, &digest, earlier) {
                "conflict".into()
            } else {
                "conflict-unproved".into()
            }
        }
        DepositResult::Swapped { .. } => "swapped".into(),
        DepositResult::Recouped { .. } => "recouped".into(),
        DepositResult::Refused { code } => code.clone(),
    }
}

/// The child's side: the bank's three roles over the shared database, deposits from stdin
/// (`<tag> <hex of the signed request>`), answers on stdout (`ANSWER <tag> <word>...` or
/// `ANSWER <tag> ERR <code>`), until stdin closes or it is killed.
#[test]
#[ignore = "the child process of the bank_processes tests"]
pub fn bank_process() {
    let (Ok(conninfo), Ok(dir), Ok(name)) = (
        std::env::var(CONNINFO_VAR),
        std::env::var(DIR_VAR),
        std::env::var(NAME_VAR),
    ) else {
        return;
    };
    let stall = std::env::var(STALL_VAR).is_ok();
    let dir = PathBuf::from(dir);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (lines, mut requests) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    actix::System::new().block_on(async move {
        let acquirer_key = AcquirerState::provision(&dir.join("acquirer")).unwrap();
        let issuer =
            IssuerState::open(&issuer_config(&dir, &conninfo, acquirer_key), clock.clone())
                .unwrap();
        let acquirer =
            AcquirerState::open(&acquirer_config(&dir, &conninfo, &issuer), clock.clone()).unwrap();
        let clearing = ClearingState::open(
            &clearing_config(&dir, &conninfo, &issuer, acquirer_key),
            clock,
        )
        .unwrap();
        let clearing = ClearingHandle::start(clearing, Arc::new(NoSink), 64);
        let issuer = IssuerHandle::start(issuer, 64);
        let acquirer = AcquirerHandle::start(
            acquirer,
            Arc::new(OwnIssuer(issuer.clone())),
            Arc::new(PrintingClearing {
                inner: clearing,
                name: name.clone(),
                stall,
            }),
        );
        // The rotation lease's holder may still be making the keys: wait for them.
        let started = Instant::now();
        while acquirer.refresh_denominations().await.unwrap_or(0) == 0 {
            assert!(started.elapsed() < SAY_MAX, "no denominations");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        say(&format!("READY {name}"));
        let deadline = tokio::time::sleep(CHILD_MAX);
        tokio::pin!(deadline);
        loop {
            let line = tokio::select! {
                line = requests.recv() => match line { Some(line) => line, None => break },
                () = &mut deadline => break,
            };
            let Some((tag, request)) = line.split_once(' ') else {
                continue;
            };
            let request = SignedDepositRequest::from_bytes(&hex::decode(request).unwrap()).unwrap();
            let (acquirer, tag) = (acquirer.clone(), tag.to_owned());
            let permissions = request.body().permissions.to_vec();
            actix::spawn(async move {
                match acquirer.deposit(request).await {
                    Ok(response) => {
                        let words: Vec<String> = permissions
                            .iter()
                            .zip(response.results.iter())
                            .map(|(permission, result)| word(permission, result))
                            .collect();
                        say(&format!("ANSWER {tag} {}", words.join(" ")));
                    }
                    Err(error) => say(&format!("ANSWER {tag} ERR {}", error.code())),
                }
            });
        }
    });
}
