//! An employee record as Employes sends it, read leniently: the raw value is kept as the source
//! of truth; typed accessors tolerate missing fields, unexpected types and unknown extras.

use serde_json::Value;
use uuid::Uuid;

use super::text_of;

/// One employee record as Employes sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Employee {
    pub id: Uuid,
    pub raw: Value,
}

impl Employee {
    /// Accepts an employee object (or `{"data": {...}}`); `None` when it has no usable id.
    pub fn from_json(value: Value) -> Option<Employee> {
        let value = unwrap_data(value);
        let id = value.get("id")?.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok())?;
        Some(Employee { id, raw: value })
    }

    /// A field as text (see [`text_of`]); `None` when missing.
    pub fn text(&self, key: &str) -> Option<String> {
        text_of(self.raw.get(key)?)
    }

    pub fn status(&self) -> Option<String> {
        self.text("status").map(|s| s.to_lowercase())
    }

    pub fn dt_update(&self) -> Option<String> {
        self.text("dt_update")
    }

    /// "First [prefix] Surname", for joining names onto changes in the read API.
    pub fn display_name(&self) -> String {
        let parts: Vec<String> =
            ["first_name", "surname_prefix", "surname"].iter().filter_map(|k| self.text(k)).collect();
        if parts.is_empty() { "(no name)".to_string() } else { parts.join(" ") }
    }
}

/// Employes sometimes wraps a single object as `{"data": {...}}`.
fn unwrap_data(value: Value) -> Value {
    match value {
        Value::Object(mut map) if map.get("data").is_some_and(Value::is_object) && !map.contains_key("id") => {
            map.remove("data").unwrap_or(Value::Null)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrapped_and_plain_records_parse_alike() {
        let id = "0b7d7c8e-1111-4222-8333-944455556666";
        let plain = Employee::from_json(json!({"id": id, "first_name": "Anna"})).unwrap();
        let wrapped = Employee::from_json(json!({"data": {"id": id, "first_name": "Anna"}})).unwrap();
        assert_eq!(plain, wrapped);
    }

    #[test]
    fn records_without_a_valid_id_are_rejected() {
        assert!(Employee::from_json(json!({"first_name": "Anna"})).is_none());
        assert!(Employee::from_json(json!({"id": 12})).is_none());
        assert!(Employee::from_json(json!([1, 2])).is_none());
    }

    #[test]
    fn odd_types_are_read_as_text() {
        let e = Employee::from_json(json!({"id": "0b7d7c8e-1111-4222-8333-944455556666", "housenumber": 12, "status": "Active", "surname": " "}))
            .unwrap();
        assert_eq!(e.text("housenumber").as_deref(), Some("12"));
        assert_eq!(e.status().as_deref(), Some("active"));
        assert_eq!(e.text("surname"), None);
    }
}
