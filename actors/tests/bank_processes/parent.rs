//! The test's side: the child processes, the lines they say, and the wallet and merchant.

use super::*;

/// A child process, killed by its PID when dropped.
pub struct Process {
    child: Child,
    stdin: ChildStdin,
}

impl Process {
    pub fn start(
        name: &str,
        dir: &Path,
        conninfo: &str,
        stall: bool,
        lines: Sender<String>,
    ) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "child::bank_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CONNINFO_VAR, conninfo)
            .env(DIR_VAR, dir)
            .env(NAME_VAR, name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if stall {
            command.env(STALL_VAR, "1");
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, stdin }
    }

    /// Hands the child a deposit, tagged.
    pub fn deposit(&mut self, tag: &str, request: &SignedDepositRequest) {
        writeln!(self.stdin, "{tag} {}", hex::encode(request.to_bytes())).unwrap();
        self.stdin.flush().unwrap();
    }

    /// SIGKILL, by PID.
    pub fn kill(&mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill();
        }
    }
}

/// What the children said, each line taken once by the test.
pub struct Lines {
    pub receiver: Receiver<String>,
    pub seen: Vec<(String, bool)>,
}

impl Lines {
    /// Waits for a line starting with `prefix`, not taken yet; takes it and returns the rest.
    pub fn take(&mut self, prefix: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some((line, taken)) = self
                .seen
                .iter_mut()
                .find(|(line, taken)| !*taken && line.starts_with(prefix))
            {
                *taken = true;
                return line[prefix.len()..].to_owned();
            }
            let left = SAY_MAX.saturating_sub(started.elapsed());
            match self.receiver.recv_timeout(left) {
                Ok(line) => self.seen.push((said(&line), false)),
                Err(_) => panic!(
                    "nothing starting with `{prefix}` within {SAY_MAX:?}: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// Every line said so far, taken or not.
    pub fn all(&mut self) -> Vec<String> {
        let more: Vec<String> = self.receiver.try_iter().map(|line| said(&line)).collect();
        self.seen.extend(more.into_iter().map(|line| (line, false)));
        self.seen.iter().map(|(line, _)| line.clone()).collect()
    }
}

/// What a child said on a line: the test harness writes its own words before the first.
pub fn said(line: &str) -> String {
    ["READY ", "ANSWER ", "SUBMIT ", "SUBMITTING "]
        .iter()
        .filter_map(|word| line.find(word))
        .min()
        .map_or_else(|| line.to_owned(), |at| line[at..].to_owned())
}

/// Hands each request to its process at once, then retries each until it has a final answer
/// (an incomplete deposit is retried with the same request, as a merchant would); one word per
/// coin of each.
pub fn settle(
    lines: &mut Lines,
    deposits: &mut [(&mut Process, &str, &SignedDepositRequest)],
) -> Vec<Vec<String>> {
    let mut answers = vec![None; deposits.len()];
    for attempt in 0..20 {
        for (index, (process, tag, request)) in deposits.iter_mut().enumerate() {
            if answers[index].is_none() {
                process.deposit(&format!("{tag}{attempt}"), request);
            }
        }
        for (index, (_, tag, _)) in deposits.iter().enumerate() {
            if answers[index].is_some() {
                continue;
            }
            let answer = lines.take(&format!("ANSWER {tag}{attempt} "));
            match answer.strip_prefix("ERR ") {
                None => answers[index] = Some(answer.split(' ').map(str::to_owned).collect()),
                Some("deposit.incomplete" | "deposit.coin_in_flight") => {}
                Some(code) => panic!("deposit {tag} refused: {code}"),
            }
        }
        if answers.iter().all(Option::is_some) {
            return answers.into_iter().flatten().collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("a deposit never completed: {answers:?}");
}

/// Withdraws `count` EUR 1.00 coins through `issuer`, from a fresh funded account.
pub fn withdraw_coins(issuer: &Arc<IssuerState>, count: usize) -> Vec<WalletCoin> {
    let account_key = SigningKey::generate(&mut rand::rng());
    let account = AccountId(rand::random());
    let at = issuer.clock.now();
    let currency = Currency::new("EUR").unwrap();
    let public_key = *account_key.verifying_key();
    let opened = issuer.committer.execute(OpenAccount {
        account,
        public_key,
        currency,
        at,
    });
    assert!(matches!(opened, Ok(Ok(_))), "{opened:?}");
    let credited = issuer.committer.execute(Credit {
        account,
        reference: "funding".into(),
        amount: eur("100.00"),
        at,
    });
    assert!(matches!(credited, Ok(Ok(_))), "{credited:?}");
    let denomination = issuer
        .published_set()
        .expect("the local master key publishes at start")
        .body()
        .fields()
        .denominations[0]
        .clone();
    let request_id = RequestId(rand::random());
    let (request, planned) = wallet::prepare_withdraw(
        &mut rand::rng(),
        &account_key,
        account,
        request_id,
        &vec![denomination; count],
    )
    .unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    withdraw::run(issuer.clone(), request, move |answer| {
        let _ = sender.send(answer);
    });
    let response = receiver.recv_timeout(SAY_MAX).unwrap().unwrap();
    wallet::finalize_coins(request_id, planned, &response).unwrap()
}

pub fn pay(coin: &WalletCoin, contract: u8) -> SignedDepositPermission {
    wallet::sign_deposit_permission(
        coin,
        ContractHash([contract; 32]),
        MERCHANT,
        ACQUIRER,
        SystemClock.now(),
    )
}

pub fn deposit(id: u8, permissions: Vec<SignedDepositPermission>) -> SignedDepositRequest {
    let body = DepositRequest {
        merchant: MERCHANT,
        deposit_id: RequestId([id; 16]),
        permissions: BoundedVec::new(permissions).unwrap(),
        // Refundable for ever: these tests take no refunds.
        refund_deadline: semper_protocol::time::Timestamp::from_unix_ms(u64::MAX),
    };
    Signed::sign(body, &merchant_key())
}

pub fn sorted(mut words: Vec<String>) -> Vec<String> {
    words.sort();
    words
}

pub fn submission_id(hex_id: &str) -> SubmissionId {
    SubmissionId(hex::decode(hex_id).unwrap().try_into().unwrap())
}

/// Polls `done` every 50 ms until it holds, for at most [`SAY_MAX`].
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < SAY_MAX, "{what} not within {SAY_MAX:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
