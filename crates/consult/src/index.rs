//! The search index: one BM25 collection over business documents (name, keywords,
//! summary, materials) and knowledge-base documents (question, other phrasings, answer),
//! with weighted fields, and the mapping from documents to the businesses they lead to.

use std::collections::{HashMap, HashSet};

use kiosk_core::config::{Bundle, FaqEntry};
use kiosk_core::session::Event;
use kiosk_core::{Lang, Localized};

use crate::text::{self, Analyzer, Run};

/// BM25 saturation and length normalisation. Length normalisation is kept mild because
/// a business document is long for a good reason (many synonyms), not because it rambles.
const K1: f32 = 1.2;
const B: f32 = 0.5;

/// Field weights (BM25F: a field's weight multiplies its term frequency). What people say
/// (names, keywords, questions and their phrasings) counts most; descriptions, answers and
/// materials add recall for rarer words without outvoting the names.
const W_NAME: f32 = 2.0;
const W_KEYWORD: f32 = 2.0;
const W_SUMMARY: f32 = 0.6;
const W_MATERIAL: f32 = 0.3;
const W_QUESTION: f32 = 2.0;
const W_PHRASING: f32 = 1.5;
const W_ANSWER: f32 = 0.3;

/// How much a knowledge-base entry lends to the businesses it lists, by position: the
/// first is what the answer is about, later ones are related services.
const LEND: [f32; 5] = [1.0, 0.8, 0.65, 0.55, 0.5];
/// Share of a business's other supporting documents added to its best one: agreement of
/// several entries is evidence, but one strong match should not be outvoted by many weak.
const SUPPORT: f32 = 0.15;

/// How much a document gains when one of its short texts (a name, a keyword, a question,
/// a phrasing) says what the query says: score × (1 + MATCH × cosine). BM25 alone cannot
/// tell "怎么开完税证明" from a longer question that contains it and a great deal more
/// (保险公司代收的车船税，怎么开完税证明？); the cosine can.
const MATCH: f32 = 1.0;

/// Below this share of the query's attainable score, an entry is not shown as the answer
/// (the businesses are still listed; `Results::best_entry` still names it). Read off the
/// confidences on the dev and held-out sets (`consult-eval --answers`): below 0.2 about a
/// third of the best entries lead to the wrong business, above it about one in thirty.
const ANSWER_MIN: f32 = 0.2;

/// What can be counted as asked or started: a knowledge-base entry or a business. Only the
/// index makes them (from its results or its own ids), so the popularity counter never
/// holds anything but ids of this bundle.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Faq(String),
    Business(String),
}

/// The knowledge-base answer to a question, in the language asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub id: String,
    pub question: String,
    pub answer: String,
    pub source: String,
    /// Business codes the answer leads to, most relevant first.
    pub businesses: Vec<String>,
    /// 0..1: share of the query's attainable score this entry reached.
    pub confidence: f32,
}

impl Answer {
    pub fn target(&self) -> Target {
        Target::Faq(self.id.clone())
    }
}

/// A business that solves the question, with the zones where it is offered.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessHit {
    pub code: String,
    pub name: String,
    pub zones: Vec<String>,
    /// 0..1 like `Answer::confidence`; for ordering and display thresholds.
    pub score: f32,
}

impl BusinessHit {
    /// The one-tap start: the event that opens this business in the session.
    pub fn start(&self) -> Event {
        Event::ChooseBusiness(self.code.clone())
    }

    pub fn target(&self) -> Target {
        Target::Business(self.code.clone())
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub answer: Option<Answer>,
    /// Best first.
    pub businesses: Vec<BusinessHit>,
    /// When the query was read as pinyin, the Chinese it was taken for ("wszm" → 完税证明),
    /// so the screen can say what it searched.
    pub read_as: Option<String>,
    /// The best-scoring entry and its confidence even when too weak to be the answer: for
    /// evaluation and for a "did you mean" line.
    pub best_entry: Option<(String, f32)>,
}

impl Results {
    pub fn is_empty(&self) -> bool {
        self.answer.is_none() && self.businesses.is_empty()
    }
}

/// A suggestion as the taxpayer types, or a popular question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub text: String,
    pub target: Target,
}

#[derive(Clone, Copy, Debug)]
enum DocOf {
    Business(usize),
    Faq(usize),
}

#[derive(Clone, Debug)]
struct BusinessInfo {
    code: String,
    name: Localized,
    zones: Vec<String>,
}

/// A short text that can be typed as pinyin: a business name, a keyword, a question.
#[derive(Clone, Debug)]
struct Phrase {
    text: String,
    /// Per character: the set of possible first letters (bit per a..z).
    initials: Vec<u32>,
    /// The toneless pinyin, syllables run together (first readings).
    full: String,
}

/// A text a suggestion can match on, and what it suggests.
#[derive(Clone, Debug)]
struct SuggestSource {
    /// Lower-cased, normalised, for matching.
    key: String,
    lang: Lang,
    /// The phrase index for pinyin matching, when the key is Chinese.
    phrase: Option<usize>,
    /// Whether `key` is the suggestion's own text (a name, a question) or an alias.
    own: bool,
    target: Target,
}

/// Search over one bundle. Built when the bundle is loaded and replaced with it: the shell
/// keeps the pair together (see [`crate::Consultation`]) so a search never runs against
/// another bundle's catalog.
pub struct Index {
    analyzer: Analyzer,
    terms: HashMap<String, u32>,
    postings: Vec<Vec<(u32, f32)>>,
    idf: Vec<f32>,
    doc_len: Vec<f32>,
    avg_len: f32,
    docs: Vec<DocOf>,
    /// Per document, its short texts as sorted (term, weight) lists.
    members: Vec<Vec<Vec<(u32, f32)>>>,
    businesses: Vec<BusinessInfo>,
    faq: Vec<FaqEntry>,
    phrases: Vec<Phrase>,
    suggest: Vec<SuggestSource>,
    /// English word terms, for typo matching.
    english: Vec<String>,
    version: String,
}

impl Index {
    /// Builds the index of a validated bundle. Cost: tens of milliseconds in release,
    /// plus loading jieba's dictionary the first time in the process (see the benchmark).
    pub fn build(bundle: &Bundle) -> Index {
        let mut lexicon: Vec<&str> = Vec::new();
        for b in &bundle.businesses {
            lexicon.push(&b.name.zh);
            lexicon.extend(b.keywords.iter().map(String::as_str));
        }
        for e in &bundle.faq.entries {
            lexicon.extend(e.phrasings_zh.iter().map(String::as_str));
        }
        let analyzer = Analyzer::new(lexicon);

        let mut b = Builder::default();
        let mut businesses = Vec::new();
        for (i, x) in bundle.businesses.iter().enumerate() {
            let mut fields: Vec<(&str, f32)> = vec![
                (&x.name.zh, W_NAME),
                (&x.name.en, W_NAME),
                (&x.summary.zh, W_SUMMARY),
                (&x.summary.en, W_SUMMARY),
            ];
            for m in &x.materials {
                fields.push((&m.zh, W_MATERIAL));
                fields.push((&m.en, W_MATERIAL));
            }
            let keywords: Vec<&str> = x.keywords.iter().map(String::as_str).collect();
            let mut short = vec![x.name.zh.as_str(), x.name.en.as_str()];
            short.extend(&keywords);
            b.add(
                &analyzer,
                DocOf::Business(i),
                &fields,
                &[(&keywords, W_KEYWORD)],
                &short,
            );
            businesses.push(BusinessInfo {
                code: x.code.clone(),
                name: x.name.clone(),
                zones: x.zones.clone(),
            });
        }
        for (i, e) in bundle.faq.entries.iter().enumerate() {
            let fields: Vec<(&str, f32)> = vec![
                (&e.question.zh, W_QUESTION),
                (&e.question.en, W_QUESTION),
                (&e.answer.zh, W_ANSWER),
                (&e.answer.en, W_ANSWER),
            ];
            let zh: Vec<&str> = e.phrasings_zh.iter().map(String::as_str).collect();
            let en: Vec<&str> = e.phrasings_en.iter().map(String::as_str).collect();
            let mut short = vec![e.question.zh.as_str(), e.question.en.as_str()];
            short.extend(&zh);
            short.extend(&en);
            b.add(
                &analyzer,
                DocOf::Faq(i),
                &fields,
                &[(&zh, W_PHRASING), (&en, W_PHRASING)],
                &short,
            );
        }

        let (phrases, suggest) = suggest_sources(bundle);
        let n = b.docs.len() as f32;
        let idf = b
            .postings
            .iter()
            .map(|p| {
                let df = p.len() as f32;
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            })
            .collect();
        let avg_len = b.doc_len.iter().sum::<f32>() / n.max(1.0);
        let mut english: Vec<String> = b
            .terms
            .keys()
            .filter(|t| t.len() >= 3 && t.bytes().all(|c| c.is_ascii_lowercase()))
            .cloned()
            .collect();
        english.sort();
        Index {
            analyzer,
            terms: b.terms,
            postings: b.postings,
            idf,
            doc_len: b.doc_len,
            avg_len,
            docs: b.docs,
            members: b.members,
            businesses,
            faq: bundle.faq.entries.clone(),
            phrases,
            suggest,
            english,
            version: bundle.version().to_string(),
        }
    }

    /// The version of the bundle this index was built from.
    pub fn bundle_version(&self) -> &str {
        &self.version
    }

    pub fn faq_entry(&self, id: &str) -> Option<&FaqEntry> {
        self.faq.iter().find(|e| e.id == id)
    }

    fn business_info(&self, code: &str) -> Option<&BusinessInfo> {
        self.businesses.iter().find(|b| b.code == code)
    }

    /// Whether a target is an id of this bundle.
    pub fn knows(&self, t: &Target) -> bool {
        match t {
            Target::Faq(id) => self.faq_entry(id).is_some(),
            Target::Business(code) => self.business_info(code).is_some(),
        }
    }

    /// The answer and up to `n` businesses for a question in the taxpayer's words.
    pub fn search(&self, query: &str, lang: Lang, n: usize) -> Results {
        let (qterms, read_as) = self.query_terms(query);
        if qterms.is_empty() {
            return Results {
                read_as,
                ..Results::default()
            };
        }
        let attainable: f32 = qterms
            .iter()
            .map(|(t, w)| self.idf[*t as usize] * w * (K1 + 1.0))
            .sum::<f32>()
            * (1.0 + MATCH);
        let scores = self.score(&qterms);

        // Businesses: the best supporting document, plus a little of the others.
        let mut support: Vec<Vec<f32>> = vec![Vec::new(); self.businesses.len()];
        let mut best_faq: Option<(usize, f32)> = None;
        for (d, &s) in scores.iter().enumerate() {
            if s <= 0.0 {
                continue;
            }
            match self.docs[d] {
                DocOf::Business(i) => support[i].push(s),
                DocOf::Faq(i) => {
                    if best_faq.is_none_or(|(_, bs)| s > bs) {
                        best_faq = Some((i, s));
                    }
                    for (pos, code) in self.faq[i].businesses.iter().enumerate() {
                        if let Some(bi) = self.businesses.iter().position(|b| &b.code == code) {
                            support[bi].push(s * LEND[pos.min(LEND.len() - 1)]);
                        }
                    }
                }
            }
        }
        let mut ranked: Vec<(usize, f32)> = support
            .iter_mut()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, v)| {
                v.sort_by(|a, b| b.total_cmp(a));
                let rest: f32 = v[1..].iter().sum();
                (i, v[0] + SUPPORT * rest.min(v[0]))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let businesses = ranked
            .into_iter()
            .take(n)
            .map(|(i, s)| {
                let b = &self.businesses[i];
                BusinessHit {
                    code: b.code.clone(),
                    name: b.name.get(lang).to_string(),
                    zones: b.zones.clone(),
                    score: (s / attainable).min(1.0),
                }
            })
            .collect();

        let best_entry = best_faq.map(|(i, s)| (self.faq[i].id.clone(), (s / attainable).min(1.0)));
        let answer = best_faq.and_then(|(i, s)| {
            let confidence = (s / attainable).min(1.0);
            (confidence >= ANSWER_MIN).then(|| {
                let e = &self.faq[i];
                Answer {
                    id: e.id.clone(),
                    question: e.question.get(lang).to_string(),
                    answer: e.answer.get(lang).to_string(),
                    source: e.source.clone(),
                    businesses: e.businesses.clone(),
                    confidence,
                }
            })
        });
        Results {
            answer,
            businesses,
            read_as,
            best_entry,
        }
    }

    /// The query as (term id, weight), each term once at its highest weight.
    fn query_terms(&self, query: &str) -> (Vec<(u32, f32)>, Option<String>) {
        let norm = text::normalize(query);
        let runs = text::runs(&norm);
        let ascii_only = !runs.is_empty() && runs.iter().all(|r| matches!(r, Run::Ascii(_)));
        let mut raw = self.analyzer.terms(&norm);
        let mut read_as = None;
        if ascii_only && !raw.iter().any(|(t, _)| self.terms.contains_key(t)) {
            // Nothing of it is an English word of the index: try it as pinyin.
            if let Some(chinese) = self.pinyin_reading(&norm) {
                raw = self.analyzer.terms(&chinese);
                read_as = Some(chinese);
            }
        }
        let mut out: HashMap<u32, f32> = HashMap::new();
        for (t, w) in raw {
            if let Some(&id) = self.terms.get(&t) {
                let e = out.entry(id).or_insert(0.0);
                *e = e.max(w);
            } else if is_english_word(&t) && t.len() >= 4 {
                // A typo: the closest words of the index, a little weaker than the real
                // thing. Two edits only for long words, where they are still unambiguous.
                let max = if t.len() >= 8 { 2 } else { 1 };
                let mut near: Vec<(usize, &String)> = self
                    .english
                    .iter()
                    .filter_map(|v| text::edit_distance(&t, v, max).map(|d| (d, v)))
                    .collect();
                near.sort_by_key(|(d, v)| (*d, v.len().abs_diff(t.len())));
                for (d, v) in near.into_iter().take(2) {
                    let id = self.terms[v];
                    let e = out.entry(id).or_insert(0.0);
                    *e = e.max(w * if d == 1 { 0.8 } else { 0.6 });
                }
            }
        }
        let mut v: Vec<(u32, f32)> = out.into_iter().collect();
        v.sort_by_key(|(t, _)| *t);
        (v, read_as)
    }

    /// Reads a Latin-letter query as pinyin: initials ("wszm") or full syllables
    /// ("wanshuizhengming"), matched against the bundle's phrases. Returns the Chinese it
    /// stands for, several phrases joined when they tie.
    fn pinyin_reading(&self, norm: &str) -> Option<String> {
        let q: String = norm.chars().filter(|c| c.is_ascii_lowercase()).collect();
        if q.len() < 2 || q.len() != norm.chars().filter(|c| !c.is_whitespace()).count() {
            return None;
        }
        let mut hits: Vec<&str> = Vec::new();
        for p in &self.phrases {
            let matches = initials_match(&p.initials, &q, false) || (q.len() >= 4 && p.full == q);
            if matches && !hits.contains(&p.text.as_str()) {
                hits.push(&p.text);
            }
        }
        if hits.is_empty() {
            return None;
        }
        // Shorter phrases first: "wszm" is 完税证明 before any question that happens to
        // have the same four initials.
        hits.sort_by_key(|h| h.chars().count());
        hits.truncate(4);
        Some(hits.join(" "))
    }

    fn score(&self, q: &[(u32, f32)]) -> Vec<f32> {
        let mut s = vec![0.0f32; self.docs.len()];
        for &(t, w) in q {
            let idf = self.idf[t as usize];
            for &(d, tf) in &self.postings[t as usize] {
                let len = self.doc_len[d as usize] / self.avg_len;
                let sat = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len));
                s[d as usize] += idf * w * sat;
            }
        }
        let qnorm = self.norm(q);
        if qnorm > 0.0 {
            for (d, score) in s.iter_mut().enumerate() {
                if *score > 0.0 {
                    let best = self.members[d]
                        .iter()
                        .map(|m| self.dot(q, m) / (qnorm * self.norm(m)).max(f32::EPSILON))
                        .fold(0.0f32, f32::max);
                    *score *= 1.0 + MATCH * best.min(1.0);
                }
            }
        }
        s
    }

    /// Length of an idf-weighted term vector.
    fn norm(&self, v: &[(u32, f32)]) -> f32 {
        v.iter()
            .map(|(t, w)| (self.idf[*t as usize] * w).powi(2))
            .sum::<f32>()
            .sqrt()
    }

    /// Dot product of two idf-weighted term vectors, both sorted by term.
    fn dot(&self, a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let idf = self.idf[a[i].0 as usize];
                    sum += idf * a[i].1 * idf * b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    /// Suggestions for what has been typed so far: questions and businesses whose text or
    /// aliases start with it, contain it, or (Latin letters) whose pinyin starts with it;
    /// then the search's own answer and businesses. Each target once.
    pub fn suggest(&self, prefix: &str, lang: Lang, n: usize) -> Vec<Suggestion> {
        let p = text::normalize(prefix).trim().to_string();
        if p.is_empty() || n == 0 {
            return Vec::new();
        }
        let letters: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        // Latin letters in Chinese mode are pinyin being typed; in English mode, English.
        let pinyin_like = lang == Lang::Zh
            && letters.len() >= 2
            && letters.bytes().all(|b| b.is_ascii_lowercase());
        // (class, length of matched text, order) per target; lower is better.
        let mut best: HashMap<&Target, (u8, usize, usize)> = HashMap::new();
        for (order, s) in self.suggest.iter().enumerate() {
            if s.lang != lang {
                continue;
            }
            let class = if s.key.starts_with(&p) {
                Some(if s.own { 0 } else { 1 })
            } else if pinyin_like
                && s.phrase.is_some_and(|i| {
                    let ph = &self.phrases[i];
                    initials_match(&ph.initials, &letters, true)
                        || (letters.len() >= 3 && ph.full.starts_with(&letters))
                })
            {
                Some(2)
            } else if s.key.contains(&p) {
                Some(if s.own { 3 } else { 4 })
            } else {
                None
            };
            if let Some(c) = class {
                let rank = (c, s.key.chars().count(), order);
                best.entry(&s.target)
                    .and_modify(|r| *r = (*r).min(rank))
                    .or_insert(rank);
            }
        }
        let mut ranked: Vec<(&Target, (u8, usize, usize))> = best.into_iter().collect();
        ranked.sort_by_key(|(_, r)| *r);
        let mut out: Vec<Suggestion> = Vec::new();
        for (t, _) in ranked {
            if out.len() >= n {
                break;
            }
            out.push(self.suggestion(t, lang));
        }
        if out.len() < n {
            // Nothing left that starts with the text: what a search for it would show.
            let r = self.search(prefix, lang, n);
            let more = r
                .answer
                .iter()
                .map(Answer::target)
                .chain(r.businesses.iter().map(BusinessHit::target));
            for t in more {
                if out.len() >= n {
                    break;
                }
                if !out.iter().any(|s| s.target == t) {
                    out.push(self.suggestion(&t, lang));
                }
            }
        }
        out
    }

    /// The text shown for a target: the question, or the business name.
    fn suggestion(&self, t: &Target, lang: Lang) -> Suggestion {
        let text = match t {
            Target::Faq(id) => self
                .faq_entry(id)
                .map_or_else(|| id.clone(), |e| e.question.get(lang).to_string()),
            Target::Business(code) => self
                .business_info(code)
                .map_or_else(|| code.clone(), |b| b.name.get(lang).to_string()),
        };
        Suggestion {
            text,
            target: t.clone(),
        }
    }

    /// The most asked questions and most started businesses of this hall, as suggestions
    /// for the empty search box. Counts of ids no longer in the bundle are skipped.
    pub fn popular(&self, counts: &crate::Popular, lang: Lang, n: usize) -> Vec<Suggestion> {
        counts
            .ranked()
            .into_iter()
            .filter(|t| self.knows(t))
            .take(n)
            .map(|t| self.suggestion(&t, lang))
            .collect()
    }

    /// Counts a question asked or a business started in the hall's popularity counter.
    /// Only ids of this bundle are counted, so the counter holds no free text and nothing
    /// a taxpayer typed. Returns whether it counted.
    pub fn record(&self, counts: &mut crate::Popular, t: &Target) -> bool {
        if !self.knows(t) {
            return false;
        }
        counts.bump(t);
        true
    }

    /// Why a query ranks as it does: the `n` best documents with their scores and the
    /// query terms each matched. For whoever curates the knowledge base and keywords.
    pub fn explain(&self, query: &str, n: usize) -> Vec<String> {
        let (q, read_as) = self.query_terms(query);
        let names: HashMap<u32, &str> = self.terms.iter().map(|(k, v)| (*v, k.as_str())).collect();
        let scores = self.score(&q);
        let mut order: Vec<usize> = (0..scores.len()).filter(|d| scores[*d] > 0.0).collect();
        order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
        let show = |t: &str| {
            t.replace(text::BIGRAM, "²")
                .replace(text::PINYIN, "♪")
                .replace(text::UNIGRAM, "¹")
        };
        let mut out = vec![format!(
            "query terms: {}{}",
            q.iter()
                .map(|(t, w)| format!("{}×{w:.2}", show(names[t])))
                .collect::<Vec<_>>()
                .join(" "),
            read_as
                .map(|r| format!(" (read as {r})"))
                .unwrap_or_default()
        )];
        for d in order.into_iter().take(n) {
            let label = match self.docs[d] {
                DocOf::Business(i) => format!("business {}", self.businesses[i].code),
                DocOf::Faq(i) => format!(
                    "faq {} → {}",
                    self.faq[i].id,
                    self.faq[i].businesses.join(",")
                ),
            };
            let matched: Vec<String> = q
                .iter()
                .filter(|(t, _)| {
                    self.postings[*t as usize]
                        .iter()
                        .any(|(x, _)| *x as usize == d)
                })
                .map(|(t, _)| show(names[t]))
                .collect();
            out.push(format!("{:7.3} {label}: {}", scores[d], matched.join(" ")));
        }
        out
    }

    /// Number of knowledge-base entries and business documents indexed, and distinct terms.
    pub fn stats(&self) -> (usize, usize, usize) {
        (self.faq.len(), self.businesses.len(), self.terms.len())
    }
}

fn is_english_word(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_lowercase())
}

/// Whether typed letters are the initials of a phrase: all of it, or (for suggestions) its
/// beginning. Each letter must be a possible initial of the character at its place.
fn initials_match(initials: &[u32], letters: &str, prefix: bool) -> bool {
    if letters.len() > initials.len() || (!prefix && letters.len() != initials.len()) {
        return false;
    }
    letters
        .bytes()
        .zip(initials)
        .all(|(b, set)| b.is_ascii_lowercase() && set & (1 << (b - b'a')) != 0)
}

#[derive(Default)]
struct Builder {
    terms: HashMap<String, u32>,
    postings: Vec<Vec<(u32, f32)>>,
    doc_len: Vec<f32>,
    docs: Vec<DocOf>,
    members: Vec<Vec<Vec<(u32, f32)>>>,
}

impl Builder {
    fn id(&mut self, t: String) -> u32 {
        let next = self.terms.len() as u32;
        let id = *self.terms.entry(t).or_insert(next);
        if id as usize == self.postings.len() {
            self.postings.push(Vec::new());
        }
        id
    }

    /// One document: text fields, whose terms count as often as they occur, and set
    /// fields (keywords, other phrasings), whose terms count once however many of the
    /// set's members share them. Twelve synonyms that all contain 发票 say the business is
    /// about invoices, not that it is twelve times more about them than another.
    fn add(
        &mut self,
        a: &Analyzer,
        of: DocOf,
        fields: &[(&str, f32)],
        sets: &[(&[&str], f32)],
        short: &[&str],
    ) {
        let d = self.docs.len() as u32;
        let mut members = Vec::new();
        for m in short {
            let mut v: HashMap<u32, f32> = HashMap::new();
            for (t, w) in a.terms(m) {
                let id = self.id(t);
                let e = v.entry(id).or_insert(0.0);
                *e = e.max(w);
            }
            let mut v: Vec<(u32, f32)> = v.into_iter().collect();
            v.sort_by_key(|(t, _)| *t);
            if !v.is_empty() {
                members.push(v);
            }
        }
        self.members.push(members);
        let mut tf: HashMap<u32, f32> = HashMap::new();
        let mut len = 0.0;
        for (text, fw) in fields {
            for (t, w) in a.terms(text) {
                let id = self.id(t);
                *tf.entry(id).or_insert(0.0) += fw * w;
                len += fw * w;
            }
        }
        for (members, fw) in sets {
            let mut once: HashMap<u32, f32> = HashMap::new();
            for m in *members {
                for (t, w) in a.terms(m) {
                    let id = self.id(t);
                    let e = once.entry(id).or_insert(0.0);
                    *e = e.max(w);
                }
            }
            for (id, w) in once {
                *tf.entry(id).or_insert(0.0) += fw * w;
                len += fw * w;
            }
        }
        let mut tf: Vec<(u32, f32)> = tf.into_iter().collect();
        tf.sort_by_key(|(t, _)| *t);
        for (t, f) in tf {
            self.postings[t as usize].push((d, f));
        }
        self.doc_len.push(len);
        self.docs.push(of);
    }
}

/// Phrases for pinyin and the texts suggestions match on.
fn suggest_sources(bundle: &Bundle) -> (Vec<Phrase>, Vec<SuggestSource>) {
    let mut phrases: Vec<Phrase> = Vec::new();
    let mut sources: Vec<SuggestSource> = Vec::new();
    let mut seen: HashSet<(String, Target)> = HashSet::new();
    let mut add = |text: &str, lang: Option<Lang>, own: bool, target: Target| {
        let key = text::normalize(text);
        let key = key.trim().trim_end_matches(['？', '?', '。']).to_string();
        if key.is_empty() || !seen.insert((key.clone(), target.clone())) {
            return;
        }
        let han: Vec<char> = key.chars().filter(|c| text::is_han(*c)).collect();
        // Pinyin covers the Han characters only: punctuation and digits are not typed as
        // pinyin, so "30万" is found by "wan" and "w".
        let phrase = (!han.is_empty()).then(|| {
            phrases.push(Phrase {
                text: han.iter().collect(),
                initials: han.iter().map(|c| text::initials(*c)).collect(),
                full: han.iter().filter_map(|c| text::syllable(*c)).collect(),
            });
            phrases.len() - 1
        });
        let lang = lang.unwrap_or(if han.is_empty() { Lang::En } else { Lang::Zh });
        sources.push(SuggestSource {
            key,
            lang,
            phrase,
            own,
            target,
        });
    };
    for e in &bundle.faq.entries {
        let t = Target::Faq(e.id.clone());
        add(&e.question.zh, Some(Lang::Zh), true, t.clone());
        add(&e.question.en, Some(Lang::En), true, t.clone());
        for p in &e.phrasings_zh {
            add(p, Some(Lang::Zh), false, t.clone());
        }
        for p in &e.phrasings_en {
            add(p, Some(Lang::En), false, t.clone());
        }
    }
    for b in &bundle.businesses {
        let t = Target::Business(b.code.clone());
        add(&b.name.zh, Some(Lang::Zh), true, t.clone());
        add(&b.name.en, Some(Lang::En), true, t.clone());
        for k in &b.keywords {
            add(k, None, false, t.clone());
        }
    }
    (phrases, sources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{BIGRAM, PINYIN};

    #[test]
    fn initials_match_whole_or_prefix() {
        let ph: Vec<u32> = "完税证明".chars().map(text::initials).collect();
        assert!(initials_match(&ph, "wszm", false));
        assert!(!initials_match(&ph, "wsz", false));
        assert!(initials_match(&ph, "wsz", true));
        assert!(!initials_match(&ph, "wszmx", true));
        assert!(!initials_match(&ph, "xszm", false));
    }

    #[test]
    fn term_prefixes_do_not_collide_with_words() {
        assert!(!is_english_word(&format!("{BIGRAM}ab")));
        assert!(!is_english_word(&format!("{PINYIN}wan shui")));
        assert!(is_english_word("invoic"));
    }
}
