//! The accept loop. It is axum's router on hyper, served connection by connection so that
//! the `drop_after_commit` fault can close a connection without a reply, which a plain
//! `axum::serve` cannot do.

use std::sync::Arc;

use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::{Shared, routes, workers};

/// Closes the connection it was handed to, with no reply.
#[derive(Clone)]
pub struct KillSwitch(Arc<Notify>);

impl KillSwitch {
    pub fn kill(&self) {
        self.0.notify_one();
    }
}

/// Serves until the process ends. Prints `listening on ADDR` once bound, so a test or
/// script that starts the binary knows the port.
pub async fn serve(state: Shared, listener: TcpListener) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    workers::start(state.clone());
    let router = routes::router(state);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let kill = KillSwitch(Arc::new(Notify::new()));
        let router = router.clone();
        let k = kill.clone();
        let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(k.clone());
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
        tokio::spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                r = conn => { if let Err(e) = r { tracing::debug!(error = %e, "connection ended"); } }
                _ = kill.0.notified() => { tracing::warn!("connection dropped after commit (fault injection)"); }
            }
        });
    }
}
