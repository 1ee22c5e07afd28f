//! The two languages of the web interface, Russian and English.
//!
//! The language comes from `?lang=ru|en`, else the `veche_lang` cookie, else
//! the browser's `Accept-Language`, else Russian. Texts live in one table per
//! language so a missing translation is a compile error.

use axum::http::{HeaderMap, header};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ru => Lang::En,
            Lang::En => Lang::Ru,
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Chooses the language for a request.
    pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = query.and_then(Lang::parse) {
            return l;
        }
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix("veche_lang="))
            .and_then(Lang::parse);
        if let Some(l) = cookie {
            return l;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // First listed language we have, ignoring weights (browsers list in preference order).
        for part in accept.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("ru") {
                return Lang::Ru;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Ru
    }

    /// A whole number with the language's digit grouping:
    /// `1 032 000` (with a no-break space) in Russian, `1,032,000` in English.
    pub fn number(self, n: u64) -> String {
        let sep = match self {
            Lang::Ru => '\u{a0}',
            Lang::En => ',',
        };
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ru => &RU,
            Lang::En => &EN,
        }
    }
}

/// Every text of the log page.
pub struct Texts {
    pub switch_to: &'static str,
    pub skip_to_content: &'static str,
    pub service_name: &'static str,
    pub tagline: &'static str,
    pub log_heading: &'static str,
    pub log_intro: &'static str,
    pub origin: &'static str,
    pub size: &'static str,
    pub root_hash: &'static str,
    pub vkey: &'static str,
    pub checkpoint_heading: &'static str,
    pub checkpoint_help: &'static str,
    pub entries_heading: &'static str,
    pub no_entries: &'static str,
    pub col_index: &'static str,
    pub col_time: &'static str,
    pub col_kind: &'static str,
    pub col_content: &'static str,
    pub col_leaf: &'static str,
    pub receipt: &'static str,
    pub verify_heading: &'static str,
    pub verify_intro: &'static str,
    pub verify_install: &'static str,
    pub verify_checkpoint: &'static str,
    pub verify_audit: &'static str,
    pub verify_receipt: &'static str,
    pub open_data_heading: &'static str,
    pub open_data_intro: &'static str,
    pub kind_jurisdiction: &'static str,
    pub population: &'static str,
    pub legislature: &'static str,
    pub footer: &'static str,
}

pub static RU: Texts = Texts {
    switch_to: "English",
    skip_to_content: "Перейти к содержанию",
    service_name: "Вече",
    tagline: "Петиции и голосования, которые может проверить каждый",
    log_heading: "Публичный журнал",
    log_intro: "Каждое действие в Вече — юрисдикции и их население, петиции, подписи, голосования, ответы законодательного собрания — записывается в один журнал, в который можно только добавлять. Журнал подписан ключом оператора, и любой может скачать его целиком и проверить.",
    origin: "Имя журнала",
    size: "Записей",
    root_hash: "Корневой хеш",
    vkey: "Ключ проверки",
    checkpoint_heading: "Последняя контрольная точка",
    checkpoint_help: "Подписанная контрольная точка фиксирует размер журнала и его корневой хеш (формат C2SP tlog-checkpoint).",
    entries_heading: "Последние записи",
    no_entries: "В журнале пока нет записей.",
    col_index: "№",
    col_time: "Время (UTC)",
    col_kind: "Тип",
    col_content: "Содержание",
    col_leaf: "Хеш листа",
    receipt: "квитанция",
    verify_heading: "Как проверить журнал",
    verify_intro: "Проверка не требует доверия к оператору: программа veche-verify скачивает журнал и сама пересчитывает все хеши и подписи.",
    verify_install: "Установите проверяющую программу из исходного кода Вече (в его каталоге):",
    verify_checkpoint: "Проверьте подпись контрольной точки и что журнал не переписан с прошлой проверки:",
    verify_audit: "Полная проверка: все плитки, все записи, корень дерева и состояние:",
    verify_receipt: "Проверьте квитанцию о своей записи:",
    open_data_heading: "Открытые данные",
    open_data_intro: "Журнал публикуется в формате C2SP tlog-tiles и как JSON:",
    kind_jurisdiction: "юрисдикция",
    population: "население",
    legislature: "законодательный орган",
    footer: "Вече — открытый исходный код. Журнал: RFC 6962 / RFC 9162, C2SP signed-note, tlog-checkpoint, tlog-tiles.",
};

pub static EN: Texts = Texts {
    switch_to: "Русский",
    skip_to_content: "Skip to main content",
    service_name: "Veche",
    tagline: "Petitions and votes that anyone can check",
    log_heading: "The public log",
    log_intro: "Everything that happens in Veche — jurisdictions and their populations, petitions, signatures, votes, the legislature's answers — is written to one log that can only be appended to. The operator signs it, and anyone can download all of it and check it.",
    origin: "Log name",
    size: "Entries",
    root_hash: "Root hash",
    vkey: "Verifier key",
    checkpoint_heading: "Latest checkpoint",
    checkpoint_help: "A signed checkpoint fixes the log's size and root hash (C2SP tlog-checkpoint format).",
    entries_heading: "Latest entries",
    no_entries: "The log has no entries yet.",
    col_index: "No.",
    col_time: "Time (UTC)",
    col_kind: "Kind",
    col_content: "Content",
    col_leaf: "Leaf hash",
    receipt: "receipt",
    verify_heading: "How to verify the log",
    verify_intro: "You do not need to trust the operator: the veche-verify program downloads the log and recomputes every hash and signature itself.",
    verify_install: "Install the verifier from Veche's source code (in its directory):",
    verify_checkpoint: "Check the checkpoint's signature, and that the log was not rewritten since your last check:",
    verify_audit: "Full audit: every tile, every entry, the tree root and the state:",
    verify_receipt: "Check the receipt for your entry:",
    open_data_heading: "Open data",
    open_data_intro: "The log is published as C2SP tlog-tiles and as JSON:",
    kind_jurisdiction: "jurisdiction",
    population: "population",
    legislature: "legislature",
    footer: "Veche is open source. Log: RFC 6962 / RFC 9162, C2SP signed-note, tlog-checkpoint, tlog-tiles.",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn numbers_are_grouped_per_language() {
        assert_eq!(Lang::En.number(1_032_000), "1,032,000");
        assert_eq!(Lang::Ru.number(1_032_000), "1\u{a0}032\u{a0}000");
        assert_eq!(Lang::En.number(999), "999");
        assert_eq!(Lang::En.number(0), "0");
        assert_eq!(Lang::En.number(1000), "1,000");
    }

    #[test]
    fn language_negotiation() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::negotiate(None, &h), Lang::Ru);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de-DE,en;q=0.8,ru;q=0.5"),
        );
        assert_eq!(Lang::negotiate(None, &h), Lang::En);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; veche_lang=ru"),
        );
        assert_eq!(Lang::negotiate(None, &h), Lang::Ru);
        assert_eq!(Lang::negotiate(Some("en"), &h), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr"), &h), Lang::Ru);
    }
}
