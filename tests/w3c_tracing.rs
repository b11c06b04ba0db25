//! The `tracing` sink: one event per line, with the `#Fields` value beside it.

use std::convert::Infallible;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use http_body_util::BodyExt;
use tower::{ServiceBuilder, ServiceExt};
use tower_iis::w3c::{Sink, W3cLogLayer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<(String, String, String)>>>);

struct Fields {
    message: String,
    w3c_fields: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "w3c_fields" => self.w3c_fields = format!("{value:?}"),
            _ => {}
        }
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields {
            message: String::new(),
            w3c_fields: String::new(),
        };
        event.record(&mut f);
        self.0.lock().unwrap().push((
            event.metadata().target().to_owned(),
            f.w3c_fields,
            f.message,
        ));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn one_event_per_line() {
    let events = Collect::default();
    tracing::subscriber::set_global_default(events.clone()).unwrap();

    let (layer, guard) = W3cLogLayer::builder()
        .sink(Sink::tracing())
        .fields(["cs-method", "cs-uri-stem", "sc-status"])
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new("hi".to_owned()))
        });
    for path in ["/a", "/b c"] {
        let uri = path.replace(' ', "%20");
        let res = svc
            .clone()
            .oneshot(Request::delete(uri.as_str()).body(String::new()).unwrap())
            .await
            .unwrap();
        res.into_body().collect().await.unwrap();
    }
    guard.handle().flush().unwrap();
    let handle = guard.handle();
    drop(guard);
    // Lines sent after the guard is gone are dropped, and the first one says why.
    for _ in 0..2 {
        let res = svc
            .clone()
            .oneshot(Request::get("/late").body(String::new()).unwrap())
            .await
            .unwrap();
        res.into_body().collect().await.unwrap();
    }
    assert_eq!(handle.stats().dropped, 2);
    let warnings: Vec<_> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(target, _, message)| {
            target == "tower_iis::w3c" && message.contains("W3cLogGuard was dropped")
        })
        .cloned()
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");

    let got: Vec<_> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(target, _, _)| target == "tower_iis::w3c::access")
        .cloned()
        .collect();
    assert_eq!(
        got,
        [
            (
                "tower_iis::w3c::access".to_owned(),
                "cs-method cs-uri-stem sc-status".to_owned(),
                "DELETE /a 200".to_owned()
            ),
            (
                "tower_iis::w3c::access".to_owned(),
                "cs-method cs-uri-stem sc-status".to_owned(),
                "DELETE /b+c 200".to_owned()
            ),
        ]
    );
}
