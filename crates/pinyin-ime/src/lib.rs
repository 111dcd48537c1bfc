//! The kiosk's own pinyin input. A kiosk has a touch screen and no keyboard, and no
//! system input method a taxpayer could reach, so the on-screen keyboard types Chinese
//! itself: letters go into a composition, the composition shows ranked candidates, and a
//! tap on one puts it into the field.
//!
//! - [`Engine`] turns letters into candidates: the letters are split into syllables
//!   (`yinhang` → `yin hang`, an apostrophe forces a split, the last syllable may be
//!   unfinished: `zh` offers 中, 这, 张 …), words of two to four syllables that jieba's
//!   dictionary knows come first (银行 before 银), then the first syllable's characters.
//!   Both are ranked by the dictionary's frequencies; characters of several readings (行
//!   is `xing` and `hang`) are found under each. Characters the dictionary does not have
//!   (rare name characters) still come, after the ranked ones.
//! - [`Composer`] is the keyboard's state: the letters typed so far, Chinese or English,
//!   upper case, and the candidate page. A key press answers an [`Edit`] of the field's
//!   text, so the field's own checks (length, pattern) stay where they are.
//!
//! Pure: no I/O, no clock; building the engine reads only data compiled in.

use jieba_rs::Jieba;
use pinyin::ToPinyinMulti;
use std::collections::{BTreeMap, HashSet};

/// Two-character dictionary words rarer than this are not offered: at 4 or 5 the
/// dictionary holds accidental pairs (放广, 吸干) and words no one types at a tax hall;
/// 完税 is 12. Longer words are not accidents (工商银行 is 4).
const MIN_PAIR_FREQ: usize = 8;

/// A character under one of its later readings counts this much less, in a word as alone:
/// `wanshui` is 完税, not 免税 through 免's rare reading `wan`; 银行 (行 as `hang`) still
/// comes first for `yinhang`.
const LATER_READING: usize = 20;

/// The longest syllable (`zhuang`, `chuang`, `shuang`).
const MAX_SYLLABLE: usize = 6;

/// How many characters per syllable are tried when looking for words of 2, 3 and 4
/// syllables: enough for the words people type, few enough that a key press stays well
/// under a frame.
const WORD_WIDTH: [usize; 3] = [48, 16, 8];

/// Letters and ranked Chinese candidates.
pub struct Engine {
    jieba: Dictionary,
    /// Every syllable (toneless, ü written v) with its characters, their rank under it
    /// and whether it is their first reading, most frequent first.
    chars: BTreeMap<String, Vec<(char, usize, bool)>>,
}

/// One candidate: the text it puts in, and how many bytes of the letters it uses up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub text: String,
    pub consumed: usize,
}

/// A piece of the letters: a whole syllable, or (last only) the start of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Byte range in the letters.
    pub start: usize,
    pub end: usize,
    pub whole: bool,
}

/// jieba's dictionary: the engine's own, or one the process already holds (the
/// consultation's: the dictionary is some 30 MB, no need for two).
enum Dictionary {
    Own(Box<Jieba>),
    Shared(&'static Jieba),
}

impl std::ops::Deref for Dictionary {
    type Target = Jieba;
    fn deref(&self) -> &Jieba {
        match self {
            Dictionary::Own(j) => j,
            Dictionary::Shared(j) => j,
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// Builds the syllable table from every CJK Unified Ideograph (basic block) that has a
    /// reading, ranked by jieba's dictionary. Takes tens of milliseconds: build it once,
    /// off the UI thread.
    pub fn new() -> Engine {
        Engine::build(Dictionary::Own(Box::new(Jieba::new())))
    }

    /// The same, ranking by a dictionary the process already has (jieba's default one).
    pub fn with_dictionary(jieba: &'static Jieba) -> Engine {
        Engine::build(Dictionary::Shared(jieba))
    }

    fn build(jieba: Dictionary) -> Engine {
        let mut ranked: BTreeMap<String, Vec<(usize, char, bool)>> = BTreeMap::new();
        let mut buf = [0u8; 4];
        for cp in 0x4E00u32..=0x9FFF {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let Some(readings) = c.to_pinyin_multi() else {
                continue;
            };
            let s: &str = c.encode_utf8(&mut buf);
            // Characters the dictionary lacks rank after all it has.
            let freq = if jieba.has_word(s) {
                jieba.suggest_freq(s)
            } else {
                0
            };
            let mut seen = HashSet::new();
            // A character ranks by its frequency under its first reading only: 长 is
            // common, but as `zhang` it is rarer than 张; 说 as `shui` rarer than 水.
            for (i, r) in readings.into_iter().enumerate() {
                let freq = if i == 0 { freq } else { freq / LATER_READING };
                let syllable = r.plain().replace('ü', "v");
                if syllable.is_empty()
                    || !syllable.bytes().all(|b| b.is_ascii_lowercase())
                    || !seen.insert(syllable.clone())
                {
                    continue;
                }
                ranked.entry(syllable).or_default().push((freq, c, i == 0));
            }
        }
        let chars = ranked
            .into_iter()
            .map(|(s, mut v)| {
                v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                (
                    s,
                    v.into_iter().map(|(f, c, first)| (c, f, first)).collect(),
                )
            })
            .collect();
        Engine { jieba, chars }
    }

    pub fn is_syllable(&self, s: &str) -> bool {
        self.chars.contains_key(s)
    }

    fn is_start(&self, s: &str) -> bool {
        self.chars
            .range(s.to_string()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(s))
    }

    /// Splits letters (`a`–`z`, `'` between syllables) into the fewest pieces: whole
    /// syllables, the last of which may be unfinished. `None` when the letters are no
    /// pinyin at all.
    pub fn segment(&self, letters: &str) -> Option<Vec<Piece>> {
        let mut pieces = Vec::new();
        let mut offset = 0;
        let groups: Vec<&str> = letters.split('\'').collect();
        for (gi, group) in groups.iter().enumerate() {
            let last_group = gi + 1 == groups.len();
            if !group.bytes().all(|b| b.is_ascii_lowercase()) {
                return None;
            }
            let n = group.len();
            // best[i]: fewest pieces covering group[..i], with the step that got there.
            let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
            best[0] = Some((0, 0));
            for i in 1..=n {
                for j in i.saturating_sub(MAX_SYLLABLE)..i {
                    let Some((count, _)) = best[j] else { continue };
                    let piece = &group[j..i];
                    let ok =
                        self.is_syllable(piece) || (last_group && i == n && self.is_start(piece));
                    // Ties go to the longer earlier pieces (found last): `fangan` → fang an.
                    if ok && best[i].is_none_or(|(c, _)| count < c) {
                        best[i] = Some((count + 1, j));
                    }
                }
            }
            best[n]?;
            let mut cuts = vec![n];
            let mut i = n;
            while i > 0 {
                let (_, j) = best[i]?;
                cuts.push(j);
                i = j;
            }
            cuts.reverse();
            for w in cuts.windows(2) {
                let piece = &group[w[0]..w[1]];
                pieces.push(Piece {
                    start: offset + w[0],
                    end: offset + w[1],
                    whole: self.is_syllable(piece),
                });
            }
            offset += n + 1;
        }
        (!pieces.is_empty()).then_some(pieces)
    }

    /// The characters a piece stands for, most frequent first, each with whether it is
    /// read so first: a whole syllable's own, an unfinished one's from every syllable it
    /// can start.
    fn piece_chars(&self, letters: &str, p: &Piece) -> Vec<(char, bool)> {
        let s = &letters[p.start..p.end];
        if p.whole {
            return self
                .chars
                .get(s)
                .map(|v| v.iter().map(|(c, _, first)| (*c, *first)).collect())
                .unwrap_or_default();
        }
        let mut all: Vec<(usize, char, bool)> = self
            .chars
            .range(s.to_string()..)
            .take_while(|(k, _)| k.starts_with(s))
            .flat_map(|(_, v)| v.iter().map(|(c, f, first)| (*f, *c, *first)))
            .collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut seen = HashSet::new();
        all.into_iter()
            .filter(|(_, c, _)| seen.insert(*c))
            .map(|(_, c, first)| (c, first))
            .collect()
    }

    /// Every candidate for the letters, best first: dictionary words over the first two to
    /// four syllables (longer first, then by frequency), then the first syllable's
    /// characters. Letters that are no pinyin come back as they are, so nothing typed is
    /// lost.
    pub fn candidates(&self, letters: &str) -> Vec<Candidate> {
        let letters = letters.trim_matches('\'');
        if letters.is_empty() {
            return Vec::new();
        }
        let Some(pieces) = self.segment(letters) else {
            return vec![Candidate {
                text: letters.replace('\'', ""),
                consumed: letters.len(),
            }];
        };
        let sets: Vec<Vec<(char, bool)>> = pieces
            .iter()
            .take(4)
            .map(|p| self.piece_chars(letters, p))
            .collect();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for n in (2..=sets.len()).rev() {
            let width = WORD_WIDTH[n - 2];
            let mut found: Vec<(usize, String)> = Vec::new();
            let mut word = String::new();
            self.words(&sets[..n], width, 1, &mut word, &mut found);
            found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            // The letters the word uses: up to its last piece, and the apostrophe after.
            let consumed = consumed_to(letters, pieces[n - 1].end);
            for (_, w) in found {
                if seen.insert(w.clone()) {
                    out.push(Candidate { text: w, consumed });
                }
            }
        }
        let consumed = consumed_to(letters, pieces[0].end);
        for (c, _) in &sets[0] {
            let text = c.to_string();
            if seen.insert(text.clone()) {
                out.push(Candidate { text, consumed });
            }
        }
        out
    }

    /// Every dictionary word made of one character from each set (the first `width` of
    /// each), with its frequency divided by `penalty` and by [`LATER_READING`] for each
    /// character read other than first.
    fn words(
        &self,
        sets: &[Vec<(char, bool)>],
        width: usize,
        penalty: usize,
        word: &mut String,
        found: &mut Vec<(usize, String)>,
    ) {
        let Some((first, rest)) = sets.split_first() else {
            if self.jieba.has_word(word) {
                let freq = self.jieba.suggest_freq(word);
                if freq >= MIN_PAIR_FREQ || word.chars().count() > 2 {
                    found.push((freq / penalty, word.clone()));
                }
            }
            return;
        };
        for (c, first_reading) in first.iter().take(width) {
            word.push(*c);
            let p = if *first_reading {
                penalty
            } else {
                penalty * LATER_READING
            };
            self.words(rest, width, p, word, found);
            word.pop();
        }
    }
}

/// The bytes of `letters` up to `end`, with an apostrophe right after it.
fn consumed_to(letters: &str, end: usize) -> usize {
    if letters[end..].starts_with('\'') {
        end + 1
    } else {
        end
    }
}

/// Chinese (letters compose pinyin) or English (letters go straight in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Zh,
    En,
}

/// A key of the on-screen keyboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// `a`–`z`.
    Letter(char),
    /// `'`: a syllable break while composing.
    Apostrophe,
    /// A digit or punctuation key: typed as it is.
    Text(String),
    Space,
    Back,
    Clear,
    /// 中/英.
    Mode,
    /// Upper case for English letters.
    Shift,
    PrevPage,
    NextPage,
    /// The n-th candidate on the page shown.
    Pick(usize),
    Done,
}

impl Key {
    /// The key a UI button sends: `a`…`z`, `'`, `space`, `back`, `clear`, `mode`, `shift`,
    /// `prev`, `next`, `pick:N`, `done`, or any other single character to type.
    pub fn parse(s: &str) -> Option<Key> {
        Some(match s {
            "'" => Key::Apostrophe,
            "space" => Key::Space,
            "back" => Key::Back,
            "clear" => Key::Clear,
            "mode" => Key::Mode,
            "shift" => Key::Shift,
            "prev" => Key::PrevPage,
            "next" => Key::NextPage,
            "done" => Key::Done,
            _ => {
                if let Some(n) = s.strip_prefix("pick:") {
                    return n.parse().ok().map(Key::Pick);
                }
                let mut it = s.chars();
                let c = it.next()?;
                if it.next().is_some() || c.is_control() {
                    return None;
                }
                if c.is_ascii_lowercase() {
                    Key::Letter(c)
                } else if c.is_ascii_uppercase() {
                    Key::Letter(c.to_ascii_lowercase())
                } else {
                    Key::Text(c.to_string())
                }
            }
        })
    }
}

/// What a key press does to the field's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Nothing (the key changed only the composition, the mode or the page).
    None,
    Insert(String),
    /// Remove the field's last character.
    Back,
    Clear,
    /// Close the keyboard (after inserting what was being composed, if anything).
    Done(Option<String>),
}

/// The candidates shown: a page of them, and whether there are more either side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Candidate>,
    pub prev: bool,
    pub next: bool,
}

/// The keyboard's state for one field.
#[derive(Clone, Debug)]
pub struct Composer {
    letters: String,
    mode: Mode,
    upper: bool,
    /// Where each page shown so far starts, in the candidate list.
    starts: Vec<usize>,
    cache: Option<(String, Vec<Candidate>)>,
}

impl Composer {
    /// `upper`: English letters start in upper case (a field whose pattern has no lower
    /// case letters, such as a licence plate).
    pub fn new(mode: Mode, upper: bool) -> Composer {
        Composer {
            letters: String::new(),
            mode,
            upper,
            starts: vec![0],
            cache: None,
        }
    }

    /// The pinyin being composed.
    pub fn letters(&self) -> &str {
        &self.letters
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn upper(&self) -> bool {
        self.upper
    }

    fn all(&mut self, engine: &Engine) -> &[Candidate] {
        if self.cache.as_ref().is_none_or(|(l, _)| *l != self.letters) {
            self.cache = Some((self.letters.clone(), engine.candidates(&self.letters)));
        }
        &self.cache.as_ref().expect("just filled").1
    }

    /// The page of candidates shown: from the page's start, as many as `fits` accepts
    /// (at least one), so a page of long words holds fewer.
    pub fn page(&mut self, engine: &Engine, fits: impl Fn(&[Candidate]) -> bool) -> Page {
        let start = *self.starts.last().expect("never empty");
        let prev = self.starts.len() > 1;
        let all = self.all(engine);
        let mut end = (start + 1).min(all.len());
        while end < all.len() && fits(&all[start..end + 1]) {
            end += 1;
        }
        Page {
            items: all
                .get(start..end)
                .map(<[Candidate]>::to_vec)
                .unwrap_or_default(),
            prev,
            next: end < all.len(),
        }
    }

    fn reset_pages(&mut self) {
        self.starts = vec![0];
    }

    /// Applies a key. `fits` is the same page measure the screen uses, so `Pick(n)` and
    /// the page keys refer to what the person sees.
    pub fn press(
        &mut self,
        engine: &Engine,
        key: Key,
        fits: impl Fn(&[Candidate]) -> bool,
    ) -> Edit {
        let composing = !self.letters.is_empty();
        match key {
            Key::Letter(c) if self.mode == Mode::Zh => {
                // 64 letters is far past any word; more is a stuck key, not pinyin.
                if self.letters.len() < 64 {
                    self.letters.push(c.to_ascii_lowercase());
                    self.reset_pages();
                }
                Edit::None
            }
            Key::Letter(c) => Edit::Insert(if self.upper {
                c.to_ascii_uppercase().to_string()
            } else {
                c.to_ascii_lowercase().to_string()
            }),
            Key::Apostrophe if composing => {
                if !self.letters.ends_with('\'') {
                    self.letters.push('\'');
                    self.reset_pages();
                }
                Edit::None
            }
            Key::Back if composing => {
                self.letters.pop();
                self.reset_pages();
                Edit::None
            }
            Key::Back => Edit::Back,
            Key::Clear => {
                self.letters.clear();
                self.reset_pages();
                Edit::Clear
            }
            Key::Mode => {
                let first = self.take_all(engine);
                self.mode = match self.mode {
                    Mode::Zh => Mode::En,
                    Mode::En => Mode::Zh,
                };
                first.map_or(Edit::None, Edit::Insert)
            }
            Key::Shift => {
                self.upper = !self.upper;
                Edit::None
            }
            Key::NextPage => {
                let p = self.page(engine, &fits);
                if p.next {
                    let start = self.starts.last().copied().unwrap_or(0) + p.items.len();
                    self.starts.push(start);
                }
                Edit::None
            }
            Key::PrevPage => {
                if self.starts.len() > 1 {
                    self.starts.pop();
                }
                Edit::None
            }
            Key::Pick(n) => {
                let p = self.page(engine, &fits);
                match p.items.get(n) {
                    Some(c) => {
                        let text = c.text.clone();
                        self.consume(c.consumed);
                        Edit::Insert(text)
                    }
                    None => Edit::None,
                }
            }
            // Space takes the best candidate, as on every pinyin keyboard; with nothing
            // composed it is a space.
            Key::Space if composing => self.take_first(engine).map_or(Edit::None, Edit::Insert),
            Key::Space => Edit::Insert(" ".into()),
            Key::Done => Edit::Done(self.take_all(engine)),
            // Any other key first puts in what was being composed.
            Key::Text(t) => match self.take_all(engine) {
                Some(mut s) => {
                    s.push_str(&t);
                    Edit::Insert(s)
                }
                None => Edit::Insert(t),
            },
            Key::Apostrophe => Edit::Insert("'".into()),
        }
    }

    fn consume(&mut self, bytes: usize) {
        let rest = self
            .letters
            .get(bytes..)
            .unwrap_or("")
            .trim_start_matches('\'');
        self.letters = rest.to_string();
        self.reset_pages();
    }

    /// The best candidate for the start of the composition, which it uses up.
    fn take_first(&mut self, engine: &Engine) -> Option<String> {
        if self.letters.is_empty() {
            return None;
        }
        let first = self.all(engine).first().cloned();
        match first {
            Some(c) => {
                self.consume(c.consumed);
                Some(c.text)
            }
            None => {
                let raw = std::mem::take(&mut self.letters);
                self.reset_pages();
                Some(raw)
            }
        }
    }

    /// The best candidates for the whole composition, one after the other.
    fn take_all(&mut self, engine: &Engine) -> Option<String> {
        let mut out: Option<String> = None;
        while let Some(t) = self.take_first(engine) {
            out.get_or_insert_default().push_str(&t);
        }
        out
    }
}
