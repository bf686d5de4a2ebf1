//! Dutch names, streets and cities for the generated employees.

use rand::Rng as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;

pub(super) const MALE: &[&str] = &[
    "Daan", "Sem", "Lucas", "Levi", "Finn", "Milan", "Bram", "Jesse", "Thijs", "Ruben", "Lars", "Stijn", "Tim",
    "Jeroen", "Pieter", "Joost", "Maarten", "Sander", "Wouter", "Bas", "Koen", "Niels", "Hendrik", "Willem", "Gijs",
    "Teun", "Mark", "Dirk",
];
pub(super) const FEMALE: &[&str] = &[
    "Emma", "Julia", "Sophie", "Tess", "Fleur", "Anna", "Sanne", "Lotte", "Eva", "Lisa", "Femke", "Iris", "Noor",
    "Marieke", "Anouk", "Ilse", "Esther", "Karin", "Linda", "Maaike", "Roos", "Sara", "Evi", "Nina", "Merel", "Floor",
    "Annelies", "Janneke",
];
pub(super) const SURNAMES: &[&str] = &[
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Dijkstra",
    "Kok",
    "Jacobs",
    "Vermeulen",
    "Willems",
    "Hoekstra",
    "Koster",
    "Prins",
    "Huisman",
    "Kuipers",
    "Schouten",
    "Postma",
    "Veenstra",
    "Kramer",
];
pub(super) const PREFIXED: &[(&str, &str)] = &[
    ("de", "Jong"),
    ("de", "Vries"),
    ("van", "Dijk"),
    ("van", "Leeuwen"),
    ("de", "Boer"),
    ("van der", "Meer"),
    ("van der", "Linden"),
    ("van", "den Berg"),
];
pub(super) const STREETS: &[&str] = &[
    "Kerkstraat",
    "Dorpsstraat",
    "Molenweg",
    "Stationsweg",
    "Schoolstraat",
    "Julianastraat",
    "Beatrixlaan",
    "Prinsengracht",
    "Keizersgracht",
    "Lindenlaan",
    "Parkweg",
    "Kastanjelaan",
    "Wilhelminastraat",
    "Nieuwstraat",
    "Havenstraat",
    "Marktplein",
];
pub(super) const CITIES: &[&str] = &[
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Den Haag",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Haarlem",
    "Arnhem",
    "Zwolle",
    "Leiden",
    "Delft",
    "Amersfoort",
];
pub(super) const BANKS: &[&str] = &["ABNA", "INGB", "RABO", "TRIO", "SNSB", "ASNB", "KNAB", "BUNQ"];
pub(super) const HOURS: &[f64] = &[16.0, 20.0, 24.0, 28.0, 32.0, 32.0, 36.0, 38.0, 40.0, 40.0, 40.0];

/// A Dutch IBAN with correct ISO 7064 check digits.
pub(super) fn iban(rng: &mut StdRng) -> String {
    let bank = BANKS.choose(rng).copied().unwrap_or("INGB");
    let account: String = (0..10).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect();
    let rearranged = format!("{bank}{account}NL00");
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let digits = match c.to_digit(36) {
            Some(v) => v.to_string(),
            None => continue,
        };
        for d in digits.chars().filter_map(|d| d.to_digit(10)) {
            rem = (rem * 10 + d) % 97;
        }
    }
    format!("NL{:02}{bank}{account}", 98 - rem)
}

/// Personal fields of a new employee.
pub(crate) struct Person {
    pub first_name: String,
    pub surname: String,
    pub surname_prefix: Option<String>,
    pub gender: &'static str,
}

pub(crate) fn person(rng: &mut StdRng) -> Person {
    let female = rng.gen_bool(0.5);
    let list = if female { FEMALE } else { MALE };
    let first_name = list.choose(rng).copied().unwrap_or("Sam").to_string();
    let (surname_prefix, surname) = if rng.gen_bool(0.2) {
        let (p, s) = PREFIXED.choose(rng).copied().unwrap_or(("de", "Jong"));
        (Some(p.to_string()), s.to_string())
    } else {
        (None, SURNAMES.choose(rng).copied().unwrap_or("Jansen").to_string())
    };
    Person { first_name, surname, surname_prefix, gender: if female { "female" } else { "male" } }
}

pub(crate) fn email_for(first: &str, prefix: Option<&str>, surname: &str, n: i64) -> String {
    let last: String =
        format!("{}{surname}", prefix.unwrap_or("")).chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{}.{}{n}@example.nl", first.to_lowercase(), last.to_lowercase())
}

/// Trades in the generated company names ("Jansen Techniek B.V.").
pub(super) const SECTORS: &[&str] = &[
    "Techniek",
    "Bouw",
    "Installaties",
    "Transport",
    "Zorg",
    "Advies",
    "Logistiek",
    "Horeca",
    "Retail",
    "Software",
    "Schoonmaak",
    "Groothandel",
];
