//! The whole flow over HTTP: open an account, credit it, withdraw coins, register a merchant,
//! deposit, read the deposit's status, flush the outbox, cut the cycle and fetch the report. The
//! wallet and the merchant read their own data with signed reads, check the acquirer's signed
//! deposit answers, and the operator reads the rest with its token.

use semper_client::views::KeysView;
use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::{AccountId, CoinId, ContractHash, MerchantId, RequestId};
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::messages::deposit_answer::{SignedDepositAnswer, verify_deposit_answer};
use semper_protocol::messages::merchant::DepositRequest;
use semper_protocol::messages::read::ReadSubject;
use semper_protocol::messages::refund::{RefundRequest, RefundResponse};
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::messages::withdraw::WithdrawResponse;
use semper_protocol::reconcile::Discrepancy;
use semper_protocol::signed::Signed;
use semper_protocol::wallet;
use semper_server::http::OPENAPI_JSON;
use semper_server::http::views::{
    AccountView, CycleView, DenominationCountView, DepositStatusView, HealthView, MerchantView,
    OutboxView,
};
use semper_storage::refund_allowances::refund_allowance;
use serde_json::json;

use crate::client::ResponseExt;
use crate::support::all_accepted;
use crate::world::{Embedded, METRICS_TEXT, now, run};

const COINS: usize = 3;

fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

#[test]
fn http_happy_path_withdraw_deposit_settle() {
    run(async {
        let env = Embedded::start("happy").await;
        let (public, operator) = (&env.public, &env.operator);

        let health: HealthView = public.get("/health").await.json();
        assert_eq!(health.status, "ok");
        assert_eq!(health.roles, ["issuer", "acquirer", "clearing"]);
        public
            .get("/metrics")
            .await
            .assert_error(401, "auth.required");
        let metrics = operator.get("/metrics").await;
        assert_eq!(metrics.status, 200);
        assert_eq!(String::from_utf8(metrics.body).unwrap(), METRICS_TEXT);
        let openapi = public.get("/openapi.json").await;
        assert_eq!(openapi.status, 200);
        assert_eq!(openapi.body, OPENAPI_JSON.as_bytes());

        // The keys to trust (a real wallet pins them out of band), and the issuer's set, checked
        // with its master key; then a denomination of EUR 1.00 withdrawable now.
        let keys: KeysView = public.get("/v1/keys").await.json();
        let (issuer_keys, acquirer_keys, clearing_keys) = (
            keys.issuer.unwrap(),
            keys.acquirer.unwrap(),
            keys.clearing.unwrap(),
        );
        let set: SignedDenominationSet = public.get("/v1/issuer/denominations").await.json();
        set.verify(&issuer_keys.master_key).unwrap();
        let at = now();
        let denomination = set
            .body()
            .fields()
            .denominations
            .iter()
            .find(|d| d.value() == eur("1.00") && d.can_withdraw(at))
            .expect("a EUR 1.00 denomination withdrawable now")
            .clone();

        // Open and fund an account (the credit is the operator's).
        let account_key = SigningKey::generate(&mut rand::rng());
        let account = AccountId(rand::random());
        let opening = Signed::sign(
            OpenAccountRequest {
                account,
                public_key: *account_key.verifying_key(),
                currency: eur("0.00").currency(),
            },
            &account_key,
        );
        let opened = public.post("/v1/issuer/accounts", &opening).await;
        assert_eq!(opened.status, 200);
        let opened: AccountView = opened.json();
        assert_eq!((opened.account, opened.balance), (account, eur("0.00")));
        let credit_path = format!("/v1/issuer/accounts/{account}/credit");
        let credit = json!({"reference": "wire-1", "amount": "EUR:10.00"});
        let credited: AccountView = operator.post(&credit_path, &credit).await.json();
        assert_eq!(credited.balance, eur("10.00"));
        // The same reference again credits once.
        let again: AccountView = operator.post(&credit_path, &credit).await.json();
        assert_eq!(again.balance, eur("10.00"));

        // Withdraw coins with a real blinded request.
        let request_id = RequestId(rand::random());
        let (request, planned) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &account_key,
            account,
            request_id,
            &vec![denomination.clone(); COINS],
        )
        .unwrap();
        let withdrawn = public.post("/v1/issuer/withdraw", &request).await;
        assert_eq!(withdrawn.status, 200);
        let response: WithdrawResponse = withdrawn.json();
        let coins = wallet::finalize_coins(request_id, planned, &response).unwrap();
        let account_path = format!("/v1/issuer/accounts/{account}");
        let account_now: AccountView = public
            .get_signed(
                &account_path,
                ReadSubject::Account(account),
                &account_key,
                now(),
            )
            .await
            .json();
        assert_eq!(account_now.balance, eur("7.00"));
        let by_operator: AccountView = operator.get(&account_path).await.json();
        assert_eq!(by_operator, account_now);
        // A replay gets the same signatures and debits nothing.
        let replayed: WithdrawResponse = public.post("/v1/issuer/withdraw", &request).await.json();
        assert_eq!(replayed, response);

        // The acquirer learns the issuer's denominations, and onboards a merchant.
        let known: DenominationCountView = operator
            .post_empty("/v1/acquirer/denominations/refresh")
            .await
            .json();
        assert!(known.denominations > 0);
        let merchant_key = SigningKey::generate(&mut rand::rng());
        let merchant = MerchantId(rand::random());
        let registered = operator
            .post(
                "/v1/acquirer/merchants",
                &json!({"merchant": merchant, "public_key": merchant_key.verifying_key()}),
            )
            .await;
        assert_eq!(registered.status, 200);
        let registered: MerchantView = registered.json();
        assert_eq!(registered.balances, Vec::<Amount>::new());
        // The registration names the acquirer's bank key, which signs the merchant's answers.
        let acquirer_role = env.deployment.roles().acquirer.unwrap();
        assert_eq!(
            (registered.acquirer, registered.acquirer_key),
            (
                env.acquirer_bank(),
                *acquirer_role.state().bank_public_key()
            )
        );
        drop(acquirer_role);

        // Pay the merchant and deposit.
        let acquirer = env.acquirer_bank();
        let permissions = coins
            .iter()
            .map(|coin| {
                wallet::sign_deposit_permission(coin, ContractHash([7; 32]), merchant, acquirer, at)
            })
            .collect();
        let deposit_id = RequestId(rand::random());
        let deposit = Signed::sign(
            DepositRequest {
                merchant,
                deposit_id,
                permissions: BoundedVec::new(permissions).unwrap(),
                refund_deadline: semper_protocol::time::Timestamp::from_unix_ms(u64::MAX),
            },
            &merchant_key,
        );
        let deposited = public.post("/v1/acquirer/deposits", &deposit).await;
        assert_eq!(deposited.status, 200);
        let answer: SignedDepositAnswer = deposited.json();
        // Checked with the served keys, which the registration named too.
        assert_eq!(
            (acquirer_keys.bank, acquirer_keys.bank_key),
            (registered.acquirer, registered.acquirer_key)
        );
        let verified = verify_deposit_answer(
            &answer,
            acquirer_keys.bank,
            &acquirer_keys.bank_key,
            &deposit,
        )
        .unwrap();
        assert!(all_accepted(verified.results()), "{answer:?}");
        assert_eq!(verified.credited(), &[eur("3.00")]);
        let status_path = format!("/v1/acquirer/merchants/{merchant}/deposits/{deposit_id}");
        let as_merchant = ReadSubject::Merchant(merchant);
        let status: DepositStatusView = public
            .get_signed(&status_path, as_merchant, &merchant_key, now())
            .await
            .json();
        assert_eq!(
            status,
            DepositStatusView::Done {
                answer: answer.clone()
            }
        );
        let merchant_path = format!("/v1/acquirer/merchants/{merchant}");
        let merchant_now: MerchantView = public
            .get_signed(&merchant_path, as_merchant, &merchant_key, now())
            .await
            .json();
        assert_eq!(merchant_now.balances, vec![eur("3.00")]);

        // Refund half of the first coin: debited once, its retry answered the same; the coin's
        // issuer learns it over the link and lets the coin be swapped for that much.
        let refund = Signed::sign(
            RefundRequest {
                merchant,
                refund_id: RequestId(rand::random()),
                contract_hash: ContractHash([7; 32]),
                denomination: coins[0].coin().denomination,
                coin: CoinId::of(&coins[0].coin().public_key),
                amount: eur("0.50"),
            },
            &merchant_key,
        );
        let refunded = public.post("/v1/acquirer/refunds", &refund).await;
        assert_eq!(refunded.status, 200);
        let refunded: RefundResponse = refunded.json();
        assert_eq!(
            (refunded.amount, refunded.coin_refunded, refunded.refund),
            (eur("0.50"), eur("0.50"), refund.body_digest())
        );
        let again: RefundResponse = public.post("/v1/acquirer/refunds", &refund).await.json();
        assert_eq!(again, refunded);
        let merchant_now: MerchantView = public
            .get_signed(&merchant_path, as_merchant, &merchant_key, now())
            .await
            .json();
        assert_eq!(merchant_now.balances, vec![eur("2.50")]);
        let issuer_role = env.deployment.roles().issuer.unwrap();
        let coin = coins[0].coin();
        let allowance = || {
            refund_allowance(
                &issuer_role.state().store,
                &coin.denomination,
                &CoinId::of(&coin.public_key),
            )
            .unwrap()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while allowance().is_none() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(allowance(), Some(eur("0.50")));
        drop(issuer_role);

        // Settle: the outbox holds the confirmation until flushed.
        public
            .get("/v1/acquirer/outbox")
            .await
            .assert_error(401, "auth.required");
        // The refund's confirmation reaches the acquirer's refund queue once the issuer has
        // answered its notice, after the refund was answered: wait for it, so that the flush
        // carries both queues in one submission.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut outbox: OutboxView = operator.get("/v1/acquirer/outbox").await.json();
        while outbox.refunds_queued == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            outbox = operator.get("/v1/acquirer/outbox").await.json();
        }
        assert_eq!((outbox.queued, outbox.refunds_queued), (1, 1), "{outbox:?}");
        let flushed: OutboxView = operator
            .post_empty("/v1/acquirer/outbox/flush")
            .await
            .json();
        assert_eq!(
            (
                flushed.queued,
                flushed.refunds_queued,
                flushed.pending.len()
            ),
            (0, 0, 0),
            "{flushed:?}"
        );
        let cycle: CycleView = public.get("/v1/clearing/cycle").await.json();
        assert_eq!((cycle.sequence, cycle.submissions), (1, 1));
        let cut = operator.post_empty("/v1/clearing/cycle/cut").await;
        assert_eq!(cut.status, 200);
        let report: SignedSettlementReport = cut.json();
        report.verify(&clearing_keys.report_key).unwrap();
        let fields = report.body().fields();
        assert_eq!(fields.sequence, 1);
        let owed: u64 = fields
            .obligations
            .iter()
            .map(|o| o.amount.minor_units())
            .sum();
        assert_eq!(owed, eur("3.00").minor_units());
        public
            .get("/v1/clearing/reports?after=0")
            .await
            .assert_error(401, "auth.required");
        let reports: Vec<SignedSettlementReport> =
            operator.get("/v1/clearing/reports?after=0").await.json();
        assert_eq!(reports, vec![report.clone()]);
        let none_after: Vec<SignedSettlementReport> = operator
            .get("/v1/clearing/reports?after=1&limit=5")
            .await
            .json();
        assert!(none_after.is_empty());
        let next: CycleView = public.get("/v1/clearing/cycle").await.json();
        assert_eq!((next.sequence, next.submissions), (2, 0));

        // Discrepancies: none, and operator-only.
        for role in ["issuer", "acquirer"] {
            let path = format!("/v1/{role}/discrepancies?from=0&limit=10");
            let found: Vec<Discrepancy> = operator.get(&path).await.json();
            assert_eq!(found, vec![]);
            public.get(&path).await.assert_error(401, "auth.required");
        }
        env.stop().await;
    });
}
