//! Text analysis shared by indexing and querying: normalisation, Chinese words (jieba plus
//! the bundle's own phrases), character bigrams, pinyin syllable bigrams, English stems.
//!
//! Every kind of term lives in one vocabulary, told apart by a one-character prefix, so one
//! BM25 index scores them all and a document matching a query in several ways (the word,
//! its characters, its sound) ranks above one matching in a single way.

use std::collections::HashSet;
use std::sync::OnceLock;

use jieba_rs::Jieba;
use pinyin::{ToPinyin, ToPinyinMulti};

/// Prefix of character-bigram terms.
pub(crate) const BIGRAM: char = '\u{1}';
/// Prefix of pinyin-bigram terms.
pub(crate) const PINYIN: char = '\u{2}';

/// How much a kind of term counts against a whole word. Bigrams catch segmentation
/// differences and one wrong character; pinyin catches homophone typos (证名 for 证明),
/// the commonest slip with a pinyin input method. Both are weaker evidence than a word.
pub(crate) const WORD_W: f32 = 1.0;
pub(crate) const SINGLE_CHAR_W: f32 = 0.5;
pub(crate) const BIGRAM_W: f32 = 0.5;
pub(crate) const PINYIN_W: f32 = 0.35;
/// Single characters: the last resort when segmentation disagrees ("小偷偷了" gives no
/// 偷 from jieba, "发票被偷" does).
pub(crate) const UNIGRAM_W: f32 = 0.25;
/// Prefix of character-unigram terms.
pub(crate) const UNIGRAM: char = '\u{3}';

/// Function words that carry no meaning in a question ("我想问一下怎么…").
const ZH_STOP_WORDS: &[&str] = &[
    "我",
    "我们",
    "你",
    "您",
    "他",
    "她",
    "它",
    "的",
    "了",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "么",
    "怎么",
    "怎样",
    "怎么样",
    "如何",
    "什么",
    "啥",
    "哪",
    "哪里",
    "哪儿",
    "哪些",
    "是",
    "是不是",
    "在",
    "有",
    "有没有",
    "要",
    "想",
    "想要",
    "能",
    "能不能",
    "可以",
    "可不可以",
    "会",
    "还",
    "也",
    "都",
    "就",
    "和",
    "与",
    "及",
    "或",
    "或者",
    "一下",
    "一个",
    "个",
    "这",
    "那",
    "这个",
    "那个",
    "请问",
    "请",
    "帮",
    "帮我",
    "给我",
    "我想",
    "我要",
    "需要",
    "应该",
    "该",
    "怎么办",
    "多少",
    "几",
    "去",
    "到",
    "把",
    "被",
    "对",
    "让",
    "为什么",
    "为",
    "自己",
    "现在",
    "已经",
    "一",
    "下",
    "吗",
    "些",
    "一些",
    "如果",
    "时候",
    "的话",
    "还是",
    "不",
    "没",
    "没有",
    "就是",
    "这里",
    "那里",
    "里",
    "上",
    "中",
    "之",
    "以",
    "其",
    "等",
    "办",
    "弄",
    "搞",
    "问",
    "问问",
];

/// Characters that make a bigram meaningless when both of its characters are among them.
const ZH_STOP_CHARS: &str = "我你您他她它的了吗呢吧啊呀么怎样什哪是在有要想能可以会还也都就和与及或一下个这那请帮给该去到把被对让用为自己现今天已经些多少几啥不没";

const EN_STOP_WORDS: &[&str] = &[
    "a", "an", "the", "i", "me", "my", "mine", "we", "our", "us", "you", "your", "he", "she", "it",
    "its", "they", "them", "their", "to", "of", "for", "in", "on", "at", "by", "with", "from",
    "about", "as", "is", "are", "am", "was", "were", "be", "been", "being", "do", "does", "did",
    "doing", "how", "what", "where", "when", "which", "who", "whom", "why", "can", "could",
    "should", "would", "will", "shall", "may", "might", "must", "want", "need", "please", "and",
    "or", "but", "if", "this", "that", "these", "those", "there", "here", "have", "has", "had",
    "get", "got", "some", "any", "much", "many", "so", "just", "also", "too", "very", "into",
    "out", "up", "down", "not", "no", "yes", "than", "then", "let", "like", "one", "same", "own",
    "again", "still",
];

static JIEBA: OnceLock<Jieba> = OnceLock::new();

/// The segmenter with jieba's default dictionary. Loading the dictionary is the dearest
/// part of building an index, and it never changes, so one copy serves every index the
/// process builds (each config swap builds a new one). The bundle's own phrases are not
/// added to it (that would need a copy per bundle); `Analyzer` matches them itself.
pub(crate) fn jieba() -> &'static Jieba {
    JIEBA.get_or_init(Jieba::new)
}

/// Full-width letters, digits and spaces to ASCII, ASCII to lower case. Kiosk keyboards and
/// pasted text mix both widths.
pub(crate) fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{ff01}'..='\u{ff5e}' => {
                char::from_u32(c as u32 - 0xfee0).map_or(c, |a| a.to_ascii_lowercase())
            }
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

pub(crate) fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

/// A run of one script in a normalised text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Run<'a> {
    Han(&'a str),
    Ascii(&'a str),
}

/// Splits into Han runs and ASCII letter/digit runs; everything else separates.
pub(crate) fn runs(s: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut start: Option<(usize, bool)> = None;
    for (i, c) in s.char_indices() {
        let kind = if is_han(c) {
            Some(true)
        } else if c.is_ascii_alphanumeric() {
            Some(false)
        } else {
            None
        };
        match (start, kind) {
            (Some((_, h)), Some(k)) if h == k => {}
            (Some((s0, h)), _) => {
                out.push(if h {
                    Run::Han(&s[s0..i])
                } else {
                    Run::Ascii(&s[s0..i])
                });
                start = kind.map(|k| (i, k));
            }
            (None, Some(k)) => start = Some((i, k)),
            (None, None) => {}
        }
    }
    if let Some((s0, h)) = start {
        out.push(if h {
            Run::Han(&s[s0..])
        } else {
            Run::Ascii(&s[s0..])
        });
    }
    out
}

/// A light English stemmer: enough that "invoices", "invoicing" and "invoiced" meet, and
/// the same function on both sides, which matters more than linguistic accuracy.
pub(crate) fn stem(w: &str) -> String {
    let mut s = w.to_string();
    let n = s.len();
    if n > 4 && s.ends_with("ies") {
        s.truncate(n - 3);
        s.push('y');
    } else if n > 4 && (s.ends_with("sses") || s.ends_with("ches") || s.ends_with("shes")) {
        s.truncate(n - 2);
    } else if n > 3
        && s.ends_with('s')
        && !s.ends_with("ss")
        && !s.ends_with("us")
        && !s.ends_with("is")
    {
        s.truncate(n - 1);
    }
    let n = s.len();
    if n > 5 && s.ends_with("ing") {
        s.truncate(n - 3);
    } else if n > 4 && s.ends_with("ed") && !s.ends_with("eed") {
        s.truncate(n - 2);
    }
    // "invoic" from both "invoicing" and "invoice": drop a final e so the forms meet.
    let n = s.len();
    if n > 4 && s.ends_with('e') {
        s.truncate(n - 1);
    }
    s
}

/// English word terms of an ASCII run (stems, stop words removed). Digits stay: 12366,
/// 300000 and 183 are what people type.
pub(crate) fn english_terms(run: &str, out: &mut Vec<(String, f32)>) {
    for w in run.split(|c: char| !c.is_ascii_alphanumeric()) {
        if w.is_empty() || EN_STOP_WORDS.contains(&w) {
            continue;
        }
        if w.len() == 1 && !w.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        out.push((stem(w), WORD_W));
    }
}

/// The toneless pinyin of a Han character (first reading), or None.
pub(crate) fn syllable(c: char) -> Option<&'static str> {
    c.to_pinyin().map(|p| p.plain())
}

/// The first letters of every reading of a character, as a bit set over a..z. Heteronyms
/// matter for initials: 银行 is typed "yh", though 行 reads xing first.
pub(crate) fn initials(c: char) -> u32 {
    let mut set = 0u32;
    if let Some(multi) = c.to_pinyin_multi() {
        for p in multi {
            if let Some(b) = p.first_letter().bytes().next()
                && b.is_ascii_lowercase()
            {
                set |= 1 << (b - b'a');
            }
        }
    } else if c.is_ascii_alphanumeric() {
        let b = c.to_ascii_lowercase() as u8;
        if b.is_ascii_lowercase() {
            set |= 1 << (b - b'a');
        }
    }
    set
}

/// Turns text into weighted terms. Holds the bundle's phrase lexicon (business names,
/// keywords), matched as whole words wherever they occur, so that "完税证明" is one term
/// on both sides however jieba splits the sentence around it.
pub(crate) struct Analyzer {
    lexicon: HashSet<String>,
    longest: usize,
    stop: HashSet<&'static str>,
    stop_chars: HashSet<char>,
}

impl Analyzer {
    pub(crate) fn new<'a>(phrases: impl IntoIterator<Item = &'a str>) -> Analyzer {
        let mut lexicon = HashSet::new();
        let mut longest = 0;
        for p in phrases {
            let p = normalize(p);
            let n = p.chars().count();
            // Two to eight Han characters: shorter is a character, longer is a sentence.
            if (2..=8).contains(&n) && p.chars().all(is_han) {
                longest = longest.max(n);
                lexicon.insert(p);
            }
        }
        Analyzer {
            lexicon,
            longest,
            stop: ZH_STOP_WORDS.iter().copied().collect(),
            stop_chars: ZH_STOP_CHARS.chars().collect(),
        }
    }

    /// Every term of a text with its weight; repeated terms repeat.
    pub(crate) fn terms(&self, text: &str) -> Vec<(String, f32)> {
        let text = normalize(text);
        let mut out = Vec::new();
        for run in runs(&text) {
            match run {
                Run::Ascii(a) => english_terms(a, &mut out),
                Run::Han(h) => self.han_terms(h, &mut out),
            }
        }
        out
    }

    fn han_terms(&self, run: &str, out: &mut Vec<(String, f32)>) {
        let chars: Vec<char> = run.chars().collect();
        let mut seen_words: HashSet<&str> = HashSet::new();
        for tok in jieba().cut_for_search(run, true) {
            let w = tok.word;
            if self.stop.contains(w) {
                continue;
            }
            let n = w.chars().count();
            let weight = if n == 1 { SINGLE_CHAR_W } else { WORD_W };
            seen_words.insert(w);
            out.push((w.to_string(), weight));
        }
        // The bundle's phrases, wherever they occur (unless jieba already produced them).
        for i in 0..chars.len() {
            for len in 2..=self.longest.min(chars.len() - i) {
                let cand: String = chars[i..i + len].iter().collect();
                if self.lexicon.contains(&cand) && !seen_words.contains(cand.as_str()) {
                    out.push((cand, WORD_W));
                }
            }
        }
        // Bigrams and their sounds within stretches of meaningful words only: a bigram
        // across a function word ("么开" in "怎么开") matches nothing that matters and
        // adds noise to every question phrased the same way.
        let mut segment: Vec<char> = Vec::new();
        let mut segments: Vec<Vec<char>> = Vec::new();
        for tok in jieba().cut(run, true) {
            if self.stop.contains(tok.word) {
                segments.push(std::mem::take(&mut segment));
            } else {
                segment.extend(tok.word.chars());
            }
        }
        segments.push(segment);
        for seg in &segments {
            for c in seg {
                if !self.stop_chars.contains(c) {
                    out.push((format!("{UNIGRAM}{c}"), UNIGRAM_W));
                }
            }
            for pair in seg.windows(2) {
                if pair.iter().all(|c| self.stop_chars.contains(c)) {
                    continue;
                }
                let mut b = String::with_capacity(8);
                b.push(BIGRAM);
                b.push(pair[0]);
                b.push(pair[1]);
                out.push((b, BIGRAM_W));
                if let (Some(a), Some(z)) = (syllable(pair[0]), syllable(pair[1])) {
                    out.push((format!("{PINYIN}{a} {z}"), PINYIN_W));
                }
            }
        }
        // A lone character gets its pinyin too, so a one-character query still meets
        // homophones; it is weak evidence, weighted as a bigram's sound.
        if chars.len() == 1
            && let Some(s) = syllable(chars[0])
        {
            out.push((format!("{PINYIN}{s}"), PINYIN_W));
        }
    }
}

/// Damerau-Levenshtein distance (adjacent transpositions count as one), giving up above
/// `max`. For English typo tolerance over the index vocabulary.
pub(crate) fn edit_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        let mut row_min = usize::MAX;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
    }
    (d[n][m] <= max).then_some(d[n][m])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(a: &Analyzer, s: &str) -> Vec<String> {
        a.terms(s)
            .into_iter()
            .filter(|(t, _)| !t.starts_with(BIGRAM) && !t.starts_with(PINYIN))
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn segmentation_drops_function_words_and_keeps_the_meaning() {
        let a = Analyzer::new([]);
        let w = words(&a, "我想打印去年交税的证明");
        for want in ["打印", "去年", "交税", "证明"] {
            assert!(w.iter().any(|x| x == want), "{want} missing from {w:?}");
        }
        for stop in ["我", "想", "的"] {
            assert!(!w.iter().any(|x| x == stop), "{stop} kept in {w:?}");
        }
    }

    #[test]
    fn bundle_phrases_are_whole_terms_wherever_they_occur() {
        let plain = Analyzer::new([]);
        let with = Analyzer::new(["完税证明", "交税单子"]);
        let text = "怎么开完税证明和交税单子";
        assert!(!words(&plain, text).contains(&"交税单子".to_string()));
        let w = words(&with, text);
        assert!(w.contains(&"完税证明".to_string()), "{w:?}");
        assert!(w.contains(&"交税单子".to_string()), "{w:?}");
    }

    #[test]
    fn homophone_typo_shares_pinyin_terms() {
        let a = Analyzer::new([]);
        let right: HashSet<String> = a.terms("完税证明").into_iter().map(|t| t.0).collect();
        let typo: HashSet<String> = a.terms("完税证名").into_iter().map(|t| t.0).collect();
        let shared_pinyin: Vec<&String> = right
            .intersection(&typo)
            .filter(|t| t.starts_with(PINYIN))
            .collect();
        assert_eq!(shared_pinyin.len(), 3, "{shared_pinyin:?}");
        // The wrong character breaks the bigram 证明, which is the point of pinyin terms.
        assert!(!typo.contains(&format!("{BIGRAM}证明")));
    }

    #[test]
    fn full_width_input_and_case_are_normalised() {
        assert_eq!(normalize("ＵＫｅｙ　注销"), "ukey 注销");
        let a = Analyzer::new([]);
        let t: Vec<String> = a.terms("UKey注销").into_iter().map(|t| t.0).collect();
        assert!(t.contains(&"ukey".to_string()), "{t:?}");
        assert!(t.contains(&"注销".to_string()), "{t:?}");
    }

    #[test]
    fn english_stems_meet_and_stop_words_go() {
        assert_eq!(stem("invoices"), stem("invoice"));
        assert_eq!(stem("invoicing"), stem("invoice"));
        assert_eq!(stem("certificates"), stem("certificate"));
        assert_eq!(stem("deductions"), stem("deduction"));
        assert_eq!(stem("policies"), "policy");
        let mut out = Vec::new();
        english_terms("how do i print my tax certificate", &mut out);
        let t: Vec<&str> = out.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(t, ["print", "tax", "certificat"]);
    }

    #[test]
    fn runs_split_scripts() {
        assert_eq!(
            runs("30万以内 vat"),
            [Run::Ascii("30"), Run::Han("万以内"), Run::Ascii("vat")]
        );
    }

    #[test]
    fn initials_know_every_reading() {
        let bit = |c: char| 1u32 << (c as u8 - b'a');
        assert_ne!(initials('行') & bit('h'), 0);
        assert_ne!(initials('行') & bit('x'), 0);
        assert_ne!(initials('税') & bit('s'), 0);
        assert_ne!(initials('完') & bit('w'), 0);
        assert_eq!(initials('q'), bit('q'));
        assert_eq!(initials('。'), 0);
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("invoice", "invoice", 2), Some(0));
        assert_eq!(edit_distance("invoice", "invocie", 2), Some(1));
        assert_eq!(edit_distance("certificate", "certifcate", 2), Some(1));
        assert_eq!(edit_distance("pension", "pensoin", 1), Some(1));
        assert_eq!(edit_distance("tax", "refund", 2), None);
    }
}
