//! The summary `config check` prints for a good bundle.

use std::collections::BTreeMap;
use std::fmt::Write;

use kiosk_core::config::{Bundle, Mode};
use kiosk_core::text::pad_right;

pub fn summary(b: &Bundle) -> String {
    let mut s = String::new();
    let n = b.businesses.len();
    let count = |m: Mode| b.businesses.iter().filter(|x| x.mode == m).count();
    let (ss, bo, tk) = (
        count(Mode::SelfService),
        count(Mode::BackOffice),
        count(Mode::Staffed),
    );
    let full_forms = b
        .businesses
        .iter()
        .filter(|x| !b.form_of(x).is_generic())
        .count();
    let _ = writeln!(s, "bundle OK  content hash {}", b.content_hash);
    let _ = writeln!(
        s,
        "kiosk {}  hall {}  languages {}",
        b.kiosk.kiosk_id,
        b.kiosk.hall_id,
        b.kiosk
            .languages
            .iter()
            .map(|l| l.code())
            .collect::<Vec<_>>()
            .join(",")
    );
    let _ = writeln!(s, "zones: {}", b.zones.len());
    for z in &b.zones {
        let _ = writeln!(
            s,
            "  {} {} {} {:>3} businesses",
            z.code,
            pad_right(&z.name.zh, 18),
            pad_right(&z.name.en, 37),
            b.businesses_in(&z.code).count()
        );
    }
    let _ = writeln!(s, "businesses: {n}  (SS {ss}, BO {bo}, TK {tk})");
    let done = ss + bo;
    let share = if n == 0 {
        0.0
    } else {
        done as f64 * 100.0 / n as f64
    };
    let _ = writeln!(
        s,
        "completed without a counter visit (SS+BO): {done}/{n} = {share:.1}%"
    );
    let _ = writeln!(
        s,
        "businesses with a full form: {full_forms}  (forms in bundle: {})",
        b.forms.len()
    );
    let mut per_cat: BTreeMap<char, [usize; 3]> = BTreeMap::new();
    for x in &b.businesses {
        let e = per_cat.entry(x.category).or_default();
        e[match x.mode {
            Mode::SelfService => 0,
            Mode::BackOffice => 1,
            Mode::Staffed => 2,
        }] += 1;
    }
    let _ = writeln!(s, "per category (SS/BO/TK):");
    for (c, [a, bb, t]) in per_cat {
        let name = b.category(c).map_or("", |c| c.name.zh.as_str());
        let _ = writeln!(s, "  {c} {} {a:>3}/{bb:>2}/{t:>2}", pad_right(name, 24));
    }
    let _ = writeln!(
        s,
        "receipt templates: {}  texts: {}",
        b.receipts.len(),
        b.texts.map.len()
    );
    s
}
