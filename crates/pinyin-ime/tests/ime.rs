//! What a taxpayer types on the kiosk's keyboard and what must come up. The expected words
//! are ordinary Chinese, not read off the engine: 银行 is what `yinhang` means at a tax hall.

use pinyin_ime::{Candidate, Composer, Edit, Engine, Key, Mode};
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(Engine::new)
}

fn texts(letters: &str, n: usize) -> Vec<String> {
    engine()
        .candidates(letters)
        .into_iter()
        .take(n)
        .map(|c| c.text)
        .collect()
}

fn pieces(letters: &str) -> Vec<String> {
    engine()
        .segment(letters)
        .unwrap_or_default()
        .iter()
        .map(|p| letters[p.start..p.end].to_string())
        .collect()
}

#[test]
fn words_of_the_tax_hall_come_first() {
    for (letters, word) in [
        ("yinhang", "银行"),
        ("fapiao", "发票"),
        ("shenbao", "申报"),
        ("nashuiren", "纳税人"),
        ("zhongguo", "中国"),
        ("beijing", "北京"),
        ("gongshangyinhang", "工商银行"),
        ("xi'an", "西安"),
        ("fangan", "方案"),
    ] {
        assert_eq!(
            texts(letters, 1),
            vec![word.to_string()],
            "{letters}: {:?}",
            texts(letters, 8)
        );
    }
}

#[test]
fn single_syllables_offer_their_common_characters_near_the_top() {
    for (letters, want) in [
        ("zhang", "张"),
        ("li", "李"),
        ("wang", "王"),
        ("shui", "税"),
        ("lv", "绿"),
        ("nv", "女"),
        ("hang", "行"),
        ("xing", "行"),
        ("jing", "京"),
        ("wo", "我"),
    ] {
        let top = texts(letters, 10);
        assert!(top.contains(&want.to_string()), "{letters}: {top:?}");
    }
}

#[test]
fn an_unfinished_syllable_offers_what_it_can_start() {
    let top = texts("zh", 12);
    for c in ["中", "这"] {
        assert!(top.contains(&c.to_string()), "zh: {top:?}");
    }
    // `zhongg`: 中国 already, from the first syllable and the start of the second.
    assert_eq!(texts("zhongg", 1), vec!["中国".to_string()]);
}

#[test]
fn letters_split_into_the_fewest_syllables_and_apostrophes_split_them() {
    assert_eq!(pieces("xian"), ["xian"]);
    assert_eq!(pieces("xi'an"), ["xi", "an"]);
    assert_eq!(pieces("zhongguoyinhang"), ["zhong", "guo", "yin", "hang"]);
    assert_eq!(pieces("fangan"), ["fang", "an"]);
    assert!(engine().segment("qwrt").is_none());
    assert!(
        engine().segment("Zhang").is_none(),
        "only lower-case letters are pinyin"
    );
}

#[test]
fn letters_that_are_no_pinyin_come_back_as_typed() {
    assert_eq!(
        engine().candidates("qwrt"),
        vec![Candidate {
            text: "qwrt".into(),
            consumed: 4
        }]
    );
    assert!(engine().candidates("").is_empty());
    assert!(engine().candidates("'''").is_empty());
}

#[test]
fn a_candidate_says_how_many_letters_it_uses() {
    let all = engine().candidates("yinhang");
    let bank = all.iter().find(|c| c.text == "银行").unwrap();
    assert_eq!(bank.consumed, "yinhang".len());
    let silver = all.iter().find(|c| c.text == "银").unwrap();
    assert_eq!(silver.consumed, "yin".len());
    let all = engine().candidates("xi'an");
    assert_eq!(
        all.iter().find(|c| c.text == "西").unwrap().consumed,
        "xi'".len()
    );
}

/// Pages of at most `n` candidates.
fn pages_of(n: usize) -> impl Fn(&[Candidate]) -> bool {
    move |c| c.len() <= n
}

fn type_letters(c: &mut Composer, letters: &str) {
    for ch in letters.chars() {
        let key = Key::parse(&ch.to_string()).unwrap();
        assert_eq!(c.press(engine(), key, pages_of(6)), Edit::None);
    }
}

#[test]
fn typing_and_picking_a_word_puts_it_in_and_keeps_the_rest_composing() {
    let mut c = Composer::new(Mode::Zh, false);
    type_letters(&mut c, "zhongguoyinhang");
    assert_eq!(c.letters(), "zhongguoyinhang");
    let page = c.page(engine(), pages_of(6));
    assert_eq!(page.items[0].text, "中国银行");
    // The second candidate here is 中国, which leaves `yinhang` to compose.
    let at = page.items.iter().position(|x| x.text == "中国").unwrap();
    assert_eq!(
        c.press(engine(), Key::Pick(at), pages_of(6)),
        Edit::Insert("中国".into())
    );
    assert_eq!(c.letters(), "yinhang");
    assert_eq!(
        c.press(engine(), Key::Space, pages_of(6)),
        Edit::Insert("银行".into())
    );
    assert_eq!(c.letters(), "");
    // With nothing composed, space is a space and back deletes from the field.
    assert_eq!(
        c.press(engine(), Key::Space, pages_of(6)),
        Edit::Insert(" ".into())
    );
    assert_eq!(c.press(engine(), Key::Back, pages_of(6)), Edit::Back);
}

#[test]
fn backspace_takes_letters_from_the_composition_first() {
    let mut c = Composer::new(Mode::Zh, false);
    type_letters(&mut c, "shuix");
    assert_eq!(c.press(engine(), Key::Back, pages_of(6)), Edit::None);
    assert_eq!(c.letters(), "shui");
    assert_eq!(c.press(engine(), Key::Clear, pages_of(6)), Edit::Clear);
    assert_eq!(c.letters(), "");
}

#[test]
fn pages_move_forward_and_back_and_picks_refer_to_the_page_shown() {
    let mut c = Composer::new(Mode::Zh, false);
    type_letters(&mut c, "shui");
    let all = engine().candidates("shui");
    let first = c.page(engine(), pages_of(4));
    assert_eq!(first.items, all[..4].to_vec());
    assert!(!first.prev && first.next);
    assert_eq!(c.press(engine(), Key::NextPage, pages_of(4)), Edit::None);
    let second = c.page(engine(), pages_of(4));
    assert_eq!(second.items, all[4..8].to_vec());
    assert!(second.prev);
    assert_eq!(
        c.press(engine(), Key::Pick(1), pages_of(4)),
        Edit::Insert(all[5].text.clone())
    );
    // A new composition starts on its first page.
    type_letters(&mut c, "shui");
    c.press(engine(), Key::NextPage, pages_of(4));
    c.press(engine(), Key::PrevPage, pages_of(4));
    assert_eq!(c.page(engine(), pages_of(4)).items, all[..4].to_vec());
    // A pick past the page does nothing.
    assert_eq!(c.press(engine(), Key::Pick(9), pages_of(4)), Edit::None);
    assert_eq!(c.letters(), "shui");
}

#[test]
fn the_page_measure_decides_how_many_fit() {
    let mut c = Composer::new(Mode::Zh, false);
    type_letters(&mut c, "yinhang");
    // Room for five characters: 银行 + 言行 is four, a third two-character word is not.
    let by_chars = |c: &[Candidate]| c.iter().map(|x| x.text.chars().count()).sum::<usize>() <= 5;
    let p = c.page(engine(), by_chars);
    assert_eq!(p.items.len(), 2, "{:?}", p.items);
    // Even when nothing fits, a page shows one candidate.
    let p = c.page(engine(), |_: &[Candidate]| false);
    assert_eq!(p.items.len(), 1);
}

#[test]
fn english_mode_types_letters_and_shift_makes_capitals() {
    let mut c = Composer::new(Mode::En, true);
    assert_eq!(
        c.press(engine(), Key::parse("a").unwrap(), pages_of(6)),
        Edit::Insert("A".into())
    );
    c.press(engine(), Key::Shift, pages_of(6));
    assert!(!c.upper());
    assert_eq!(
        c.press(engine(), Key::parse("b").unwrap(), pages_of(6)),
        Edit::Insert("b".into())
    );
    assert_eq!(c.letters(), "");
}

#[test]
fn switching_mode_or_typing_a_digit_first_puts_in_the_composition() {
    let mut c = Composer::new(Mode::Zh, false);
    type_letters(&mut c, "jing");
    assert_eq!(
        c.press(engine(), Key::Mode, pages_of(6)),
        Edit::Insert(texts("jing", 1)[0].clone())
    );
    assert_eq!(c.mode(), Mode::En);
    c.press(engine(), Key::Mode, pages_of(6));
    type_letters(&mut c, "fapiao");
    assert_eq!(
        c.press(engine(), Key::parse("8").unwrap(), pages_of(6)),
        Edit::Insert("发票8".into())
    );
    type_letters(&mut c, "shenbao");
    assert_eq!(
        c.press(engine(), Key::Done, pages_of(6)),
        Edit::Done(Some("申报".into()))
    );
    assert_eq!(c.press(engine(), Key::Done, pages_of(6)), Edit::Done(None));
}

#[test]
fn keys_parse_from_what_the_buttons_send() {
    assert_eq!(Key::parse("q"), Some(Key::Letter('q')));
    assert_eq!(Key::parse("Q"), Some(Key::Letter('q')));
    assert_eq!(Key::parse("pick:3"), Some(Key::Pick(3)));
    assert_eq!(Key::parse("·"), Some(Key::Text("·".into())));
    assert_eq!(Key::parse("'"), Some(Key::Apostrophe));
    for bad in ["", "pick:x", "ab", "\n", "pick:-1"] {
        assert_eq!(Key::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn a_stuck_key_does_not_grow_the_composition_without_end() {
    let mut c = Composer::new(Mode::Zh, false);
    for _ in 0..500 {
        c.press(engine(), Key::Letter('a'), pages_of(6));
    }
    assert_eq!(c.letters().len(), 64);
    // Still answers (the letters are `a` syllables).
    assert!(!c.page(engine(), pages_of(6)).items.is_empty());
}

#[test]
fn rare_accidental_words_are_not_offered() {
    // 淫行 and 引狼 are in jieba's dictionary at frequency 4; 放广 is an accidental pair.
    for (letters, junk) in [
        ("yinhang", "淫行"),
        ("yinlang", "引狼"),
        ("fangguang", "放广"),
    ] {
        let all: Vec<String> = engine()
            .candidates(letters)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert!(!all.contains(&junk.to_string()), "{letters}: {all:?}");
    }
    assert_eq!(texts("wanshui", 1), vec!["完税".to_string()]);
}

#[test]
fn a_shared_dictionary_ranks_as_the_engines_own() {
    let shared: &'static jieba_rs::Jieba = Box::leak(Box::new(jieba_rs::Jieba::new()));
    let e = Engine::with_dictionary(shared);
    for letters in ["yinhang", "zh", "nashuiren", "lv"] {
        assert_eq!(
            e.candidates(letters),
            engine().candidates(letters),
            "{letters}"
        );
    }
}
