//! The one form of the domain's named values (states, change types, milestone kinds, …): the
//! derives that spell each value in `snake_case` alike in Postgres (`text` columns with CHECK
//! constraints), JSON, NATS messages, query parameters and metrics labels (strum for
//! `as_str`/`FromStr`/`Display`, serde, sqlx), so no hand-written string table can drift.

/// An enum of named values: those derives, the order of declaration (`Ord`), and `as_str` (a
/// `&'static str`, as metrics labels and SQL parameters want).
macro_rules! named_enum {
    ($(#[$attr:meta])* pub enum $name:ident { $($(#[$vattr:meta])* $variant:ident),* $(,)? }) => {
        $(#[$attr])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
            strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray,
        )]
        #[serde(rename_all = "snake_case")]
        #[sqlx(type_name = "text", rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($(#[$vattr])* $variant,)*
        }

        impl $name {
            /// The `snake_case` name.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}
