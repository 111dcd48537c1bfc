//! The terminal walk-through: a taxpayer's path through the shipped configuration,
//! typed instead of touched. It reads answers line by line from stdin, so it runs both
//! by hand and from a script in tests.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Result;
use kiosk_core::config::{Bundle, Business, Field, FieldKind, IdentityLevel, Mode};
use kiosk_core::form::{self, Values};
use kiosk_core::{Lang, config};

use crate::bundle_dir;

struct Term<'a> {
    input: Box<dyn BufRead + 'a>,
    out: Box<dyn Write + 'a>,
}

/// Input ended: the person walked away. Not an error.
struct Eof;

impl Term<'_> {
    fn say(&mut self, s: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", s.as_ref());
    }

    fn ask(&mut self, prompt: &str) -> Result<String, Eof> {
        let _ = write!(self.out, "{prompt} > ");
        let _ = self.out.flush();
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) | Err(_) => Err(Eof),
            Ok(_) => {
                let answer = line.trim().to_string();
                // Echo so that a scripted run reads like a session transcript.
                let _ = writeln!(self.out, "{answer}");
                Ok(answer)
            }
        }
    }

    /// A numbered menu; returns the index chosen, or None for "back".
    fn menu(&mut self, lang: Lang, items: &[String]) -> Result<Option<usize>, Eof> {
        for (i, it) in items.iter().enumerate() {
            self.say(format!("  {:>2}. {it}", i + 1));
        }
        let back = match lang {
            Lang::Zh => "   0. 返回",
            Lang::En => "   0. Back",
        };
        self.say(back);
        loop {
            let a = self.ask(match lang {
                Lang::Zh => "请输入序号",
                Lang::En => "Enter a number",
            })?;
            match a.parse::<usize>() {
                Ok(0) => return Ok(None),
                Ok(n) if n <= items.len() => return Ok(Some(n - 1)),
                _ => self.say(match lang {
                    Lang::Zh => format!("没有“{a}”这一项，请输入 0 到 {} 之间的序号", items.len()),
                    Lang::En => format!(
                        "There is no item \"{a}\"; enter a number from 0 to {}",
                        items.len()
                    ),
                }),
            }
        }
    }
}

pub fn run(config_dir: &Path) -> Result<()> {
    let files = bundle_dir::read(config_dir)?;
    let bundle = match config::load(&files) {
        Ok(l) => l.bundle,
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            anyhow::bail!(
                "the configuration in {} is not valid; run `tax-kiosk config check {}` for details",
                config_dir.display(),
                config_dir.display()
            );
        }
    };
    let stdin = std::io::stdin();
    let mut t = Term {
        input: Box::new(stdin.lock()),
        out: Box::new(std::io::stdout()),
    };
    match session(&mut t, &bundle) {
        Ok(()) | Err(Eof) => {}
    }
    t.say("");
    t.say("— 会话结束，个人信息已清除 · session ended, personal data wiped —");
    Ok(())
}

fn session(t: &mut Term, b: &Bundle) -> Result<(), Eof> {
    let tx = &b.texts;
    t.say(format!(
        "===== {} · {} =====",
        b.kiosk.hall_name.zh, b.kiosk.hall_name.en
    ));
    t.say(format!(
        "{} / {}",
        tx.get("attract.touch_to_start", Lang::Zh),
        tx.get("attract.touch_to_start", Lang::En)
    ));
    t.ask("[Enter]")?;
    t.say(format!(
        "{} / {}",
        tx.get("language.choose", Lang::Zh),
        tx.get("language.choose", Lang::En)
    ));
    let langs: Vec<String> = vec!["中文".into(), "English".into()];
    let lang = match t.menu(Lang::Zh, &langs)? {
        Some(1) => Lang::En,
        _ => Lang::Zh,
    };
    loop {
        t.say("");
        t.say(format!("== {} ==", tx.get("zone.choose", lang)));
        let zones: Vec<String> = b
            .zones
            .iter()
            .map(|z| format!("{} — {}", z.name.get(lang), z.purpose.get(lang)))
            .collect();
        let Some(zi) = t.menu(lang, &zones)? else {
            return Ok(());
        };
        let zone = &b.zones[zi];
        let list: Vec<&Business> = b.businesses_in(&zone.code).collect();
        loop {
            t.say("");
            t.say(format!("== {} ==", zone.name.get(lang)));
            let items: Vec<String> = list
                .iter()
                .map(|x| format!("{} {} [{}]", x.code, x.name.get(lang), x.mode.code()))
                .collect();
            let Some(bi) = t.menu(lang, &items)? else {
                break;
            };
            if business(t, b, list[bi], lang)? {
                return Ok(());
            }
        }
    }
}

/// One business: detail, form, review. Returns true when the session should end.
fn business(t: &mut Term, b: &Bundle, x: &Business, lang: Lang) -> Result<bool, Eof> {
    let tx = &b.texts;
    t.say("");
    t.say(format!("== {} {} ==", x.code, x.name.get(lang)));
    t.say(x.summary.get(lang));
    t.say(tx.fill(
        "business.minutes",
        lang,
        &[("minutes", &x.minutes.to_string())],
    ));
    t.say(tx.get(&format!("business.ends.{}", x.mode.code()), lang));
    if !x.materials.is_empty() {
        t.say(format!("{}:", tx.get("business.materials", lang)));
        for m in &x.materials {
            t.say(format!("  · {}", m.get(lang)));
        }
    }
    let id_need = match (x.identity, lang) {
        (IdentityLevel::None, Lang::Zh) => "无需身份核验",
        (IdentityLevel::None, Lang::En) => "No identity check needed",
        (IdentityLevel::Card, Lang::Zh) => "需读取身份证",
        (IdentityLevel::Card, Lang::En) => "Needs your ID card",
        (IdentityLevel::Verified, Lang::Zh) if x.face_required => "需读取身份证并进行人脸核验",
        (IdentityLevel::Verified, Lang::En) if x.face_required => {
            "Needs your ID card and face verification"
        }
        (IdentityLevel::Verified, Lang::Zh) => "需读取身份证并核验（人脸或短信验证码）",
        (IdentityLevel::Verified, Lang::En) => {
            "Needs your ID card and verification (face or SMS code)"
        }
    };
    t.say(id_need);
    let go = t.ask(match lang {
        Lang::Zh => "开始填写？(y/n)",
        Lang::En => "Fill in the form? (y/n)",
    })?;
    if !matches!(go.as_str(), "y" | "Y" | "是") {
        return Ok(false);
    }
    let f = b.form_of(x);
    t.say(format!("-- {} --", f.title.get(lang)));
    let mut values = Values::new();
    loop {
        for step in &f.steps {
            t.say(format!("[{}]", step.title.get(lang)));
            for field in &step.fields {
                let computed = form::compute(f, &values);
                if !form::is_visible(f, field, &values, &computed) {
                    values.remove(&field.id);
                    continue;
                }
                if let FieldKind::Computed(_) = field.kind {
                    let v = computed
                        .get(&field.id)
                        .map_or("—".to_string(), |a| a.to_string());
                    t.say(format!("  {} = {v}", field.label.get(lang)));
                    continue;
                }
                fill(t, f, field, &mut values, lang)?;
            }
        }
        let errs = form::validate(f, &values);
        if errs.is_empty() {
            break;
        }
        t.say(tx.get("form.invalid", lang));
        for (id, e) in &errs {
            let label = f
                .field(id)
                .map_or(String::new(), |fl| format!("{}: ", fl.label.get(lang)));
            t.say(format!("  ✗ {label}{}", e.message(lang)));
        }
    }
    let values = form::visible_values(f, &values);
    let computed = form::compute(f, &values);
    t.say("");
    t.say(format!("== {} ==", tx.get("review.title", lang)));
    for field in f.fields() {
        if let Some(v) = values.get(&field.id) {
            t.say(format!(
                "  {}: {}",
                field.label.get(lang),
                v.display(field, lang)
            ));
        } else if let Some(a) = computed.get(&field.id) {
            t.say(format!("  {}: {a}", field.label.get(lang)));
        }
    }
    let ok = t.ask(tx.get("common.confirm", lang))?;
    if !matches!(ok.as_str(), "y" | "Y" | "是" | "") {
        return Ok(false);
    }
    let end = match (x.mode, lang) {
        (Mode::SelfService, Lang::Zh) => "（演示）表单已核对。提交与回执随后台接口上线。",
        (Mode::SelfService, Lang::En) => {
            "(demo) Form checked. Submission and receipt arrive with the back office."
        }
        (Mode::BackOffice, Lang::Zh) => "（演示）表单已核对，将提交后台办理。",
        (Mode::BackOffice, Lang::En) => "(demo) Form checked; it will go to the back office.",
        (Mode::Staffed, Lang::Zh) => "（演示）受理单已预填，请到一窗综合受理区取号。",
        (Mode::Staffed, Lang::En) => {
            "(demo) Intake form pre-filled; take a ticket at the one-window zone."
        }
    };
    t.say(end);
    t.say(tx.get("goodbye.thanks", lang));
    Ok(true)
}

fn fill(
    t: &mut Term,
    f: &kiosk_core::config::Form,
    field: &Field,
    values: &mut Values,
    lang: Lang,
) -> Result<(), Eof> {
    let mut prompt = format!("  {}", field.label.get(lang));
    if let Some(h) = &field.help {
        t.say(format!("    ({})", h.get(lang)));
    }
    match &field.kind {
        FieldKind::Choice(opts) => {
            for o in opts {
                t.say(format!("    [{}] {}", o.value, o.label.get(lang)));
            }
        }
        FieldKind::Bool => prompt.push_str(" (y/n)"),
        FieldKind::Amount { .. } => prompt.push_str(if lang == Lang::Zh {
            "（元）"
        } else {
            " (yuan)"
        }),
        FieldKind::Rate { .. } => prompt.push_str(" (%)"),
        _ => {}
    }
    if !field.required {
        prompt.push_str(if lang == Lang::Zh {
            "［选填，回车跳过］"
        } else {
            " [optional, Enter to skip]"
        });
    }
    loop {
        let a = t.ask(&prompt)?;
        if a.is_empty() && !field.required {
            values.remove(&field.id);
            return Ok(());
        }
        match form::parse_value(field, &a) {
            Ok(v) => {
                values.insert(field.id.clone(), v);
                let computed = form::compute(f, values);
                let shown: Vec<String> = f
                    .fields()
                    .filter_map(|c| {
                        computed
                            .get(&c.id)
                            .map(|a| format!("{} {a}", c.label.get(lang)))
                    })
                    .collect();
                if !shown.is_empty() {
                    t.say(format!("    → {}", shown.join(" · ")));
                }
                return Ok(());
            }
            Err(e) => t.say(format!("    ✗ {}", e.message(lang))),
        }
    }
}
