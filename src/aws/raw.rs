//! The body of a successful answer, handed to the caller as it arrived instead of being parsed
//! by the SDK: LookupEvents pages are read straight from their bytes (the SDK would unescape
//! every `CloudTrailEvent` into a new string, which the record then escapes again). The SDK still
//! signs, resolves the endpoint and parses every error answer.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;

/// The most reserved ahead for an announced body.
const MAX_PRESIZE: usize = 4 * 1024 * 1024;

/// Buffers kept for reuse: reading thousands of pages a second, fresh ones cost the allocator
/// and the kernel's zeroing of new pages more than the parsing. Bounded in number and size, so
/// memory does not grow with the calls in flight.
pub struct BufferPool {
    kept: Mutex<Vec<Vec<u8>>>,
}

/// Buffers kept at most, and the largest kept.
const POOLED: usize = 32;
const POOLED_SIZE: usize = 1 << 20;

impl BufferPool {
    pub const fn new() -> BufferPool {
        BufferPool {
            kept: Mutex::new(Vec::new()),
        }
    }

    /// An empty buffer with room for at least `capacity` bytes.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        let reused = self.kept.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut buffer = reused.unwrap_or_default();
        buffer.reserve(capacity);
        buffer
    }

    /// Gives a buffer back (dropped when the pool is full or the buffer large).
    pub fn give(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() > POOLED_SIZE {
            return;
        }
        buffer.clear();
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < POOLED {
            kept.push(buffer);
        }
    }
}

/// The buffers of answers' bodies.
pub static BODIES: BufferPool = BufferPool::new();

/// Where the body of one call's successful answer is left.
pub type Slot = Arc<Mutex<Option<Vec<u8>>>>;

tokio::task_local! {
    /// The slot of the call being sent by this task, set by `keeping_body`.
    static SLOT: Slot;
}

/// Sends `call` with its successful answer's body left in `slot` (the SDK then parses an empty
/// object: an output with nothing in it).
pub async fn keeping_body<T>(slot: &Slot, call: impl std::future::Future<Output = T>) -> T {
    SLOT.scope(slot.clone(), call).await
}

/// The client's interceptor: the calls sent through `keeping_body` leave their 2xx answer's
/// body in their slot; other calls are untouched. Installed once per client, as customising
/// each call costs the SDK a configuration of its own.
#[derive(Debug)]
pub struct KeepBody;

impl Intercept for KeepBody {
    fn name(&self) -> &'static str {
        "KeepBody"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(slot) = SLOT.try_with(Slot::clone) else {
            return Ok(());
        };
        if !context.response().status().is_success() {
            return Ok(());
        }
        // Sized once when the length is announced (capped: the body limit still applies).
        let announced = context
            .response()
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_PRESIZE);
        let inner = context.response_mut().take_body();
        *context.response_mut().body_mut() = SdkBody::from_body_1_x(Diverted {
            inner,
            kept: BODIES.take(announced),
            slot,
            done: false,
        });
        Ok(())
    }
}

/// Reads the whole body into `slot`, then yields `{}`.
struct Diverted {
    inner: SdkBody,
    kept: Vec<u8>,
    slot: Slot,
    done: bool,
}

impl http_body::Body for Diverted {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        this.kept.extend_from_slice(data);
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => {
                    this.done = true;
                    *this.slot.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(std::mem::take(&mut this.kept));
                    let empty = http_body::Frame::data(Bytes::from_static(b"{}"));
                    return Poll::Ready(Some(Ok(empty)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
