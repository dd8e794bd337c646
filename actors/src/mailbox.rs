//! Calling an actor through its bounded mailbox: a full mailbox answers "busy" at once, a stopped
//! actor "stopped", and the answer comes back on a one-shot channel carried by the message.
//!
//! actix's `Addr` does not tell how many messages wait, so [`call`] counts them: each message
//! travels [`Queued`] with a slot in its actor's [`MailboxDepth`], given back when the handler
//! takes it (or when it is dropped unhandled, e.g. by a stopping actor). An actor takes queued
//! messages through [`counted_mailbox!`](crate::counted_mailbox), which
//! [`reply_message!`](crate::reply_message) applies to the messages it defines.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::metrics::ACTOR_MAILBOX_DEPTH;

/// Where an actor sends the answer to one message.
pub type Reply<T, E> = oneshot::Sender<Result<T, E>>;

/// The two failures of the mailbox itself, as each actor's error type names them.
pub trait MailboxError {
    /// The mailbox is full: retry later.
    fn busy() -> Self;
    /// The actor has stopped.
    fn stopped() -> Self;
}

/// Sends the message `message` builds around a reply channel, without waiting for room in the
/// mailbox, and awaits the answer. The message counts in `depth` until its handler takes it.
pub async fn call<A, M, T, E>(
    address: &Addr<A>,
    depth: &MailboxDepth,
    message: impl FnOnce(Reply<T, E>) -> M,
) -> Result<T, E>
where
    A: Actor<Context = Context<A>> + Handler<Queued<M>>,
    M: Message<Result = ()> + Send + 'static,
    E: MailboxError,
{
    let (sender, receiver) = oneshot::channel();
    // A refused message comes back inside the error and is dropped here, giving its slot back.
    address
        .try_send(Queued::new(depth, message(sender)))
        .map_err(|error| match error {
            SendError::Full(_) => E::busy(),
            SendError::Closed(_) => E::stopped(),
        })?;
    receiver.await.map_err(|_| E::stopped())?
}

/// How many messages wait in one actor's mailbox, also added into the gauge
/// `semper_actor_mailbox_depth{actor}`, which every actor of that kind shares. Cloning shares the
/// count.
#[derive(Clone, Debug)]
pub struct MailboxDepth {
    inner: Arc<DepthInner>,
}

#[derive(Debug)]
struct DepthInner {
    waiting: AtomicUsize,
    gauge: metrics::Gauge,
}

impl MailboxDepth {
    /// A count for an actor of kind `actor`, reported to the recorder current here. Counts made
    /// for the same kind (two banks' issuers in one process) add up in the one gauge.
    pub fn new(actor: &'static str) -> Self {
        Self {
            inner: Arc::new(DepthInner {
                waiting: AtomicUsize::new(0),
                gauge: metrics::gauge!(ACTOR_MAILBOX_DEPTH, "actor" => actor),
            }),
        }
    }

    /// How many messages wait now.
    pub fn get(&self) -> usize {
        self.inner.waiting.load(Ordering::Relaxed)
    }

    fn enter(&self) {
        self.inner.waiting.fetch_add(1, Ordering::Relaxed);
        self.inner.gauge.increment(1.0);
    }

    fn leave(&self) {
        self.inner.waiting.fetch_sub(1, Ordering::Relaxed);
        self.inner.gauge.decrement(1.0);
    }
}

/// A message on its way through a mailbox, counted in its actor's [`MailboxDepth`] until
/// [`Queued::take`] or until it is dropped.
pub struct Queued<M> {
    message: M,
    _slot: Slot,
}

/// One message's place in a [`MailboxDepth`], given back on drop.
struct Slot(MailboxDepth);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl<M> Queued<M> {
    /// `message`, counted in `depth` from now on.
    pub fn new(depth: &MailboxDepth, message: M) -> Self {
        depth.enter();
        Self {
            message,
            _slot: Slot(depth.clone()),
        }
    }

    /// The message, no longer counted: what a handler does first.
    pub fn take(self) -> M {
        self.message
    }
}

impl<M: Message> Message for Queued<M> {
    type Result = M::Result;
}

/// Lets `$actor` take each listed message type [`Queued`]: the handler gives back the message's
/// slot, then runs the message's own handler. [`reply_message!`](crate::reply_message) does this
/// for the messages it defines; an actor lists its hand-written ones, and a generic one with its
/// generics in brackets: `counted_mailbox!(impl[T: Send + 'static] MyActor: Query<T>)`.
///
/// Each type is listed rather than covered by one blanket impl over every `M` the actor handles:
/// such an impl sends type inference at the call sites into endless `Queued<Queued<..>>`.
#[macro_export]
macro_rules! counted_mailbox {
    (impl[$($generics:tt)*] $actor:ty : $message:ty) => {
        impl<$($generics)*> actix::Handler<$crate::mailbox::Queued<$message>> for $actor {
            type Result = ();

            fn handle(
                &mut self,
                queued: $crate::mailbox::Queued<$message>,
                context: &mut Self::Context,
            ) {
                <$actor as actix::Handler<$message>>::handle(self, queued.take(), context)
            }
        }
    };
    ($actor:ty : $($message:ty),+ $(,)?) => {
        $($crate::counted_mailbox!(impl[] $actor: $message);)+
    };
}

/// Defines a message that carries its reply channel (`reply`, a [`Reply`] of `$out` or `$error`)
/// and the actor's handler for it. The handler gets the actor, the message's fields as a tuple and
/// the reply channel under the names given, and runs `$body`.
#[macro_export]
macro_rules! reply_message {
    ($actor:ty, $error:ty, $(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* } -> $out:ty,
     |$this:ident, $msg:ident, $reply:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(actix::Message)]
        #[rtype(result = "()")]
        pub struct $name {
            $(
                #[allow(missing_docs)]
                pub $field: $ty,
            )*
            /// Where the answer goes.
            pub reply: $crate::mailbox::Reply<$out, $error>,
        }

        impl actix::Handler<$name> for $actor {
            type Result = ();

            fn handle(&mut self, message: $name, _: &mut Self::Context) {
                let $name { $($field,)* reply: $reply } = message;
                #[allow(unused_variables)]
                let $msg = ($($field,)*);
                let $this = self;
                $body
            }
        }

        $crate::counted_mailbox!($actor: $name);
    };
}

/// Stops an actor: it takes no more messages, and its timers end. What is under way on its pool
/// and committer still finishes and answers.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;
