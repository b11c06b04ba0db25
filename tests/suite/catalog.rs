//! The catalog against the list of codes in the IIS status tables.
//!
//! `tests/data/iis-seed-codes.txt` holds one code per line: every code of the IIS
//! 7.0–8.0 and the current IIS status articles (a bare status written with `.0`),
//! plus `413.1` and `431.0` that current IIS 10 request filtering sends. The catalog
//! must hold exactly these codes.

use std::collections::BTreeSet;

use tower_iis::{catalog, IisStatus};

fn seed_codes() -> Vec<(usize, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/iis-seed-codes.txt");
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.to_owned()))
        .collect()
}

#[test]
fn every_seed_code_is_in_the_catalog() {
    let lines = seed_codes();
    assert!(!lines.is_empty());
    for (n, line) in &lines {
        let status: IisStatus = line.parse().unwrap_or_else(|e| panic!("line {n}: {e}"));
        assert_eq!(
            &status.to_string(),
            line,
            "line {n} is not in canonical form"
        );
        let info = catalog::lookup(status)
            .unwrap_or_else(|| panic!("line {n}: {line} is missing from the catalog"));
        assert_eq!(info.status(), status);
    }
}

#[test]
fn catalog_holds_nothing_else() {
    let seeds: BTreeSet<IisStatus> = seed_codes()
        .iter()
        .map(|(_, line)| line.parse().unwrap())
        .collect();
    let catalog: BTreeSet<IisStatus> = catalog::all().iter().map(|i| i.status()).collect();
    let extra: Vec<_> = catalog.difference(&seeds).collect();
    assert!(extra.is_empty(), "not in the seed tables: {extra:?}");
    assert_eq!(catalog::all().len(), seeds.len());
}

#[test]
fn catalog_is_ordered_for_lookup() {
    let all = catalog::all();
    assert!(all.windows(2).all(|w| w[0].status() < w[1].status()));
}
