//! Calling an actor through its bounded mailbox: a full mailbox answers "busy" at once, a stopped
//! actor "stopped", and the answer comes back on a one-shot channel carried by the message.

use actix::prelude::*;
use tokio::sync::oneshot;

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
/// mailbox, and awaits the answer.
pub async fn call<A, M, T, E>(
    address: &Addr<A>,
    message: impl FnOnce(Reply<T, E>) -> M,
) -> Result<T, E>
where
    A: Actor<Context = Context<A>> + Handler<M>,
    M: Message<Result = ()> + Send + 'static,
    E: MailboxError,
{
    let (sender, receiver) = oneshot::channel();
    address
        .try_send(message(sender))
        .map_err(|error| match error {
            SendError::Full(_) => E::busy(),
            SendError::Closed(_) => E::stopped(),
        })?;
    receiver.await.map_err(|_| E::stopped())?
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
    };
}

/// Stops an actor: it takes no more messages, and its timers end. What is under way on its pool
/// and committer still finishes and answers.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;
