//! The two languages of the web interface, Russian and English.
//!
//! The language comes from `?lang=ru|en`, else the `veche_lang` cookie, else
//! the browser's `Accept-Language`, else Russian. Texts live in Fluent
//! catalogues, `locales/ru/*.ftl` and `locales/en/*.ftl`; a test checks that
//! every key a template uses exists in both.

use axum::http::{HeaderMap, header};
use fluent_templates::Loader;

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

    pub fn langid(self) -> unic_langid::LanguageIdentifier {
        match self {
            Lang::Ru => unic_langid::langid!("ru"),
            Lang::En => unic_langid::langid!("en"),
        }
    }
}

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "ru",
        // Texts go into HTML; Unicode isolation marks would show up in attributes.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// Looks texts up in one language's Fluent catalogue (`locales/<lang>/*.ftl`).
#[derive(Clone, Copy, Debug)]
pub struct Tr(pub Lang);

impl Tr {
    /// The text for `key`; a missing key is a bug caught by the tests, and
    /// shows as the key itself rather than failing the page.
    pub fn t(&self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.0.langid(), key)
            .unwrap_or_else(|| key.to_string())
    }

    #[cfg(test)]
    pub fn has(&self, key: &str) -> bool {
        LOCALES.try_lookup(&self.0.langid(), key).is_some()
    }

    pub fn lang(&self) -> &'static str {
        self.0.code()
    }

    pub fn other_lang(&self) -> &'static str {
        self.0.other().code()
    }
}

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

    /// Every `tr.t("key")` in the templates and every `t("key")` in the
    /// code exists in both catalogues, and both catalogues have the same keys.
    #[test]
    fn every_text_exists_in_both_languages() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut keys = std::collections::BTreeSet::new();
        let re_like = |text: &str, keys: &mut std::collections::BTreeSet<String>| {
            for marker in ["tr.t(\"", "tr.t_args(\"", ".t(\""] {
                for part in text.split(marker).skip(1) {
                    if let Some(end) = part.find('"') {
                        keys.insert(part[..end].to_string());
                    }
                }
            }
        };
        for dir in ["templates", "src"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    re_like(&std::fs::read_to_string(&path).unwrap(), &mut keys);
                }
            }
        }
        keys.remove("key");
        assert!(keys.len() > 20, "found only {keys:?}");
        for key in &keys {
            for lang in [Lang::Ru, Lang::En] {
                assert!(
                    Tr(lang).has(key),
                    "`{key}` is missing in locales/{}",
                    lang.code()
                );
            }
        }
        let catalogue_keys = |lang: &str| -> std::collections::BTreeSet<String> {
            std::fs::read_dir(root.join("locales").join(lang))
                .unwrap()
                .flat_map(|e| {
                    std::fs::read_to_string(e.unwrap().path())
                        .unwrap()
                        .lines()
                        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
                        .filter(|k| !k.starts_with('#') && !k.is_empty() && !k.starts_with(' '))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        assert_eq!(catalogue_keys("ru"), catalogue_keys("en"));
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
