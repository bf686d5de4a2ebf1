//! The body of a webhook delivery, read in one pass over the raw bytes (borrowed, nothing but the
//! members we act on parsed): its `type`, `data.employee_id` (employee events only) and
//! `data.company_id` (which company it is about).

use std::borrow::Cow;

use serde::{
    Deserializer,
    de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor},
};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::schemas::EMPLOYEE_EVENTS;

/// What a delivery's `data.company_id` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedCompany {
    /// Absent or `null` (or no `data` object): the event names no company.
    Unnamed,
    /// A hyphenated UUID.
    Id(Uuid),
}

/// A delivery's body, as far as we act on it.
#[derive(Debug)]
pub struct WebhookEvent {
    pub kind: String,
    /// Employee events only (other types' `data.employee_id` is neither read nor checked).
    pub employee_id: Option<Uuid>,
    pub company: NamedCompany,
}

/// Why a body is not an event: the message of the 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// The raw text of the named members of a JSON object, in one pass and borrowed from the input;
/// other members are skipped unparsed, and a repeated name keeps its last value (as with a
/// `serde_json::Value`).
struct Members<const N: usize>([&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for Members<N> {
    type Value = [Option<&'de RawValue>; N];

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Members<N> {
    type Value = [Option<&'de RawValue>; N];

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = [None; N];
        while let Some(key) = map.next_key::<Cow<str>>()? {
            match self.0.iter().position(|name| *name == key) {
                Some(i) => found[i] = Some(map.next_value()?),
                None => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        Ok(found)
    }
}

/// `Members` of one whole JSON text (nothing may follow it).
fn members<'a, const N: usize>(
    json: &'a [u8],
    names: [&'static str; N],
) -> serde_json::Result<[Option<&'a RawValue>; N]> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let found = Members(names).deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// A hyphenated UUID only, as the document's pattern says (`parse_str` also takes the simple,
/// braced and URN forms, which are shorter or longer).
fn hyphenated_uuid(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text).ok().filter(|_| text.len() == 36)
}

fn named_company(raw: Option<&RawValue>) -> Result<NamedCompany, Malformed> {
    match raw.map(RawValue::get) {
        None | Some("null") => Ok(NamedCompany::Unnamed),
        Some(raw) => {
            let id: Cow<str> = serde_json::from_str(raw).map_err(|_| Malformed("data.company_id must be a string"))?;
            hyphenated_uuid(&id).map(NamedCompany::Id).ok_or(Malformed("data.company_id is not a UUID"))
        }
    }
}

pub fn parse(body: &[u8]) -> Result<WebhookEvent, Malformed> {
    let bad = Malformed;
    // Only an object is an event; anything else says whether it is JSON at all.
    let is_object = |text: &[u8]| text.trim_ascii_start().first() == Some(&b'{');
    if !is_object(body) {
        let valid = serde_json::from_slice::<&RawValue>(body).is_ok();
        return Err(bad(if valid { "body must be a JSON object" } else { "body is not valid JSON" }));
    }
    let [kind, data] = members(body, ["type", "data"]).map_err(|_| bad("body is not valid JSON"))?;
    let kind = kind
        .and_then(|raw| serde_json::from_str::<Cow<str>>(raw.get()).ok())
        .filter(|t| !t.is_empty() && t.len() <= 100 && t.chars().all(|c| c.is_ascii_graphic()))
        .ok_or(bad("missing or invalid `type`"))?
        .into_owned();
    let [employee_id, company_id] = match data {
        Some(raw) if is_object(raw.get().as_bytes()) => {
            members(raw.get().as_bytes(), ["employee_id", "company_id"]).map_err(|_| bad("body is not valid JSON"))?
        }
        _ => [None, None],
    };
    let company = named_company(company_id)?;
    if !EMPLOYEE_EVENTS.contains(&kind.as_str()) {
        return Ok(WebhookEvent { kind, employee_id: None, company });
    }
    let employee_id = match employee_id.map(RawValue::get) {
        None | Some("null") => return Err(bad("missing data.employee_id")),
        Some(raw) => {
            let id: Cow<str> = serde_json::from_str(raw).map_err(|_| bad("data.employee_id must be a string"))?;
            hyphenated_uuid(&id).ok_or(bad("data.employee_id is not a UUID"))?
        }
    };
    Ok(WebhookEvent { kind, employee_id: Some(employee_id), company })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Result<(String, Option<Uuid>), String> {
        parse(body.as_bytes()).map(|e| (e.kind, e.employee_id)).map_err(|Malformed(m)| m.to_string())
    }

    fn company(body: &str) -> NamedCompany {
        parse(body.as_bytes()).unwrap().company
    }

    #[test]
    fn events_parse_with_unknown_fields_escapes_and_null_ids() {
        let id = "0b7d7c8e-1111-4222-8333-944455556666";
        let body = format!(r#" {{"id":1,"type":"employee.upd\u0061ted","data":{{"x":[1],"employee_id":"{id}"}}}}"#);
        assert_eq!(message(&body), Ok(("employee.updated".into(), Some(id.parse().unwrap()))));
        assert_eq!(message(r#"{"type":"company.sync_requested","data":{"employee_id":null}}"#).unwrap().1, None);
        assert_eq!(message(r#"{"type":"company.sync_requested","data":["not","an","object"]}"#).unwrap().1, None);
        // Only employee events are read for an employee: other types' `data` is not checked.
        assert_eq!(message(r#"{"type":"company.sync_requested","data":{"employee_id":""}}"#).unwrap().1, None);
        assert_eq!(message(r#"{"type":"payrun.done","data":{"employee_id":7}}"#).unwrap().1, None);
        assert_eq!(message(r#"{"type":"something.else"}"#), Ok(("something.else".into(), None)));
        // A repeated key keeps its last value, at both levels (valid JSON, as before).
        let repeated =
            format!(r#"{{"type":7,"type":"employee.created","data":{{"employee_id":"x","employee_id":"{id}"}}}}"#);
        assert_eq!(message(&repeated), Ok(("employee.created".into(), Some(id.parse().unwrap()))));
        // An escape inside the id is decoded, not compared raw.
        let escaped =
            r#"{"type":"employee.created","data":{"employee_id":"0b7d7c8e-1111-4222-8333-94445555666\u0036"}}"#;
        assert_eq!(message(escaped).unwrap().1, Some(id.parse().unwrap()));
    }

    #[test]
    fn data_company_id_names_a_company_by_hyphenated_uuid_or_names_none() {
        let id: Uuid = "7e3f2a10-5b6c-4d8e-9f01-23456789abcd".parse().unwrap();
        assert_eq!(company(&format!(r#"{{"type":"a.b","data":{{"company_id":"{id}"}}}}"#)), NamedCompany::Id(id));
        assert_eq!(company(r#"{"type":"a.b"}"#), NamedCompany::Unnamed);
        assert_eq!(company(r#"{"type":"a.b","data":7}"#), NamedCompany::Unnamed);
        assert_eq!(company(r#"{"type":"a.b","data":{"company_id":null}}"#), NamedCompany::Unnamed);
        // Of every event type, an employee event too.
        for kind in ["a.b", "employee.updated"] {
            for (other, expected) in [
                (r#""x""#, "data.company_id is not a UUID"),
                (r#""7e3f2a105b6c4d8e9f0123456789abcd""#, "data.company_id is not a UUID"),
                ("7", "data.company_id must be a string"),
                (r#"["a"]"#, "data.company_id must be a string"),
            ] {
                let body = format!(r#"{{"type":"{kind}","data":{{"employee_id":"{id}","company_id":{other}}}}}"#);
                assert_eq!(message(&body), Err(expected.to_string()), "{body}");
            }
        }
    }

    #[test]
    fn each_malformed_body_gets_its_own_message() {
        let cases = [
            ("", "body is not valid JSON"),
            ("{\"type\": ", "body is not valid JSON"),
            ("[1,2", "body is not valid JSON"),
            (r#"{"type":"a"} x"#, "body is not valid JSON"),
            ("[1,2,3]", "body must be a JSON object"),
            (r#""hello""#, "body must be a JSON object"),
            (r#"{"data":{}}"#, "missing or invalid `type`"),
            (r#"{"type":7}"#, "missing or invalid `type`"),
            (r#"{"type":null}"#, "missing or invalid `type`"),
            (r#"{"type":"employee updated"}"#, "missing or invalid `type`"),
            (r#"{"type":"employee.updated","data":{}}"#, "missing data.employee_id"),
            (r#"{"type":"employment.created"}"#, "missing data.employee_id"),
            (r#"{"type":{"employee":"updated"}}"#, "missing or invalid `type`"),
            (r#"{"type":["employee.updated"]}"#, "missing or invalid `type`"),
            (
                r#"{"type":"employee.updated","data":"0b7d7c8e-1111-4222-8333-944455556666"}"#,
                "missing data.employee_id",
            ),
            (r#"{"type":"employee.updated","data":7}"#, "missing data.employee_id"),
            (r#"{"type":"employee.updated","data":{"employee_id":null}}"#, "missing data.employee_id"),
            (r#"{"type":"employee.updated","data":{"employee_id":12}}"#, "data.employee_id must be a string"),
            (r#"{"type":"employee.updated","data":{"employee_id":{"id":"x"}}}"#, "data.employee_id must be a string"),
            (r#"{"type":"employee.updated","data":{"employee_id":"a"#, "body is not valid JSON"),
            (r#"{"type":"employee.updated","data":{"employee_id":"nope"}}"#, "data.employee_id is not a UUID"),
            (
                r#"{"type":"employee.updated","data":{"employee_id":"0b7d7c8e111142228333944455556666"}}"#,
                "data.employee_id is not a UUID",
            ),
            (
                r#"{"type":"employee.updated","data":{"employee_id":"{0b7d7c8e-1111-4222-8333-944455556666}"}}"#,
                "data.employee_id is not a UUID",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(message(body), Err(expected.to_string()), "{body}");
        }
    }
}
