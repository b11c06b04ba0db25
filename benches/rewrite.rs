//! What URL Rewrite costs per request: ten typical rules, compiled once, in front
//! of the trivial handler; and the regular-expression engine behind them
//! (fancy-regex, which the `ECMAScript` syntax needs for back-references and
//! look-around) next to the `regex` crate on the same patterns.
//!
//! ```text
//! cargo bench --features rewrite --bench rewrite
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::header::{HeaderValue, HOST};
use http::{Request, Uri};
use tower::{service_fn, Layer};
use tower_iis::rewrite::{Action, Condition, PatternSyntax, RewriteLayer, RewriteMap, Rule};

mod support;
use support::{call, hello, request};

/// Ten rules as sites write them; none matches the benches' usual request.
fn ten_rules() -> RewriteLayer {
    RewriteLayer::builder()
        .rule(
            Rule::new("Canonical host", "(.*)")
                .stop_processing(true)
                .condition(Condition::pattern("{HTTP_HOST}", r"^example\.com$"))
                .action(Action::redirect("https://www.example.com/{R:1}")),
        )
        .rule(
            Rule::new("HTTPS behind the load balancer", "(.*)")
                .stop_processing(true)
                .condition(Condition::pattern("{HTTP_X_FORWARDED_PROTO}", "^http$"))
                .action(Action::redirect("https://{HTTP_HOST}/{R:1}")),
        )
        .rule(
            Rule::new("Drop WordPress probes", r"^(wp-login\.php|xmlrpc\.php)$")
                .action(Action::abort_request()),
        )
        .rule(
            Rule::new("Bad bots", ".*")
                .condition(Condition::pattern(
                    "{HTTP_USER_AGENT}",
                    "EvilScraper|BadBot",
                ))
                .action(Action::custom_response(403, 0)),
        )
        .rule(Rule::new("Hide git", r"^\.git(/|$)").action(Action::custom_response(404, 8)))
        .rule(
            Rule::new("Lower-case URLs", "[A-Z]")
                .ignore_case(false)
                .action(Action::redirect("{ToLower:{URL}}")),
        )
        .rule(
            Rule::new("Legacy redirects", ".*")
                .condition(Condition::pattern("{LegacyUrls:{REQUEST_URI}}", "(.+)"))
                .action(Action::redirect("{C:1}").append_query_string(false)),
        )
        .map(
            RewriteMap::new("LegacyUrls")
                .entry("/old-page.aspx", "/new-page")
                .entry("/about-us.html", "/about"),
        )
        .rule(
            Rule::new("Product pages", "^products/([0-9]+)/([a-z0-9-]+)/?$")
                .stop_processing(true)
                .action(Action::rewrite("app/product?id={R:1}&slug={R:2}")),
        )
        .rule(
            Rule::new("Articles", "articles/*/*")
                .pattern_syntax(PatternSyntax::Wildcard)
                .stop_processing(true)
                .action(Action::rewrite("app/article?year={R:1}&name={R:2}")),
        )
        .rule(
            Rule::new("API v1", "^api/v1/(.*)")
                .stop_processing(true)
                .action(Action::rewrite("api/{R:1}")),
        )
        .build()
        .expect("the rules compile")
}

fn with_target(target: &'static str, host: &'static str) -> impl Fn() -> Request<String> {
    move || {
        let mut req = request();
        *req.uri_mut() = Uri::from_static(target);
        req.headers_mut()
            .insert(HOST, HeaderValue::from_static(host));
        req
    }
}

fn per_request(c: &mut Criterion) {
    let mut g = c.benchmark_group("rewrite");
    let mut bare = service_fn(hello::<String>);
    g.bench_function("handler alone", |b| {
        b.iter_batched(
            request,
            |req| black_box(call(&mut bare, req)),
            BatchSize::SmallInput,
        );
    });
    let mut none = RewriteLayer::builder()
        .build()
        .unwrap()
        .layer(service_fn(hello::<String>));
    g.bench_function("no rules", |b| {
        b.iter_batched(
            request,
            |req| black_box(call(&mut none, req)),
            BatchSize::SmallInput,
        );
    });
    let mut svc = ten_rules().layer(service_fn(hello::<String>));
    let cases: [(&str, &'static str, &'static str, usize); 4] = [
        (
            "10 rules, none matches",
            "/shop/products/item.aspx?id=42&colour=blue",
            "www.example.com",
            14,
        ),
        (
            "10 rules, the 8th rewrites",
            "/products/42/red-hat",
            "www.example.com",
            14,
        ),
        (
            "10 rules, the 10th rewrites",
            "/api/v1/items?page=2",
            "www.example.com",
            14,
        ),
        (
            "10 rules, the 1st redirects",
            "/shop/products/item.aspx?id=42",
            "example.com",
            0,
        ),
    ];
    for (name, target, host, len) in cases {
        let make = with_target(target, host);
        // The redirect's body is the "Document Moved" page.
        let got = call(&mut svc, make());
        assert!(len == 0 || got == len, "{name}: {got}");
        g.bench_function(name, |b| {
            b.iter_batched(
                &make,
                |req| black_box(call(&mut svc, req)),
                BatchSize::SmallInput,
            );
        });
    }
    g.bench_function("compile the 10 rules", |b| {
        b.iter(|| black_box(ten_rules()))
    });
    g.finish();
}

/// The patterns and inputs of the ten rules for the usual request.
const PATTERNS: [(&str, &str); 10] = [
    ("(?i)(.*)", "shop/products/item.aspx"),
    (r"(?i)^example\.com$", "www.example.com"),
    ("(?i)^http$", ""),
    (r"(?i)^(wp-login\.php|xmlrpc\.php)$", "shop/products/item.aspx"),
    ("(?i)EvilScraper|BadBot", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
    (r"(?i)^\.git(/|$)", "shop/products/item.aspx"),
    ("[A-Z]", "shop/products/item.aspx"),
    ("(?i)(.+)", ""),
    ("(?i)^products/([0-9]+)/([a-z0-9-]+)/?$", "shop/products/item.aspx"),
    ("(?i)^api/v1/(.*)", "shop/products/item.aspx"),
];

fn engines(c: &mut Criterion) {
    let mut g = c.benchmark_group("regex engine, 10 patterns with captures");
    let fancy: Vec<_> = PATTERNS
        .iter()
        .map(|(p, i)| (fancy_regex::Regex::new(p).unwrap(), *i))
        .collect();
    let plain: Vec<_> = PATTERNS
        .iter()
        .map(|(p, i)| (regex::Regex::new(p).unwrap(), *i))
        .collect();
    g.bench_function("fancy-regex", |b| {
        b.iter(|| {
            fancy
                .iter()
                .filter(|(re, input)| re.captures(black_box(input)).unwrap().is_some())
                .count()
        });
    });
    g.bench_function("regex", |b| {
        b.iter(|| {
            plain
                .iter()
                .filter(|(re, input)| re.captures(black_box(input)).is_some())
                .count()
        });
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = per_request, engines
}
criterion_main!(benches);
