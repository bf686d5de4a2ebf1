//! The schema of [`ProgressEvent`], written out: one object per kind of event (a stage's, and the
//! session's last), each with every field, so that client generators read it (the derive's
//! `flatten` would make an `allOf` over a `oneOf`, which they refuse). The stage names come from
//! [`Stage::ORDER`]; the OpenAPI and AsyncAPI tests hold it to what is published.

use utoipa::{
    PartialSchema, ToSchema,
    openapi::{KnownFormat, ObjectBuilder, OneOfBuilder, Ref, RefOr, Schema, SchemaFormat, Type, schema::SchemaType},
};

use super::ProgressEvent;
use crate::domain::{SessionStatus, Stage, StageStatus};

/// One kind of event: its `stage` values and the schema of its `status`.
fn event(title: &str, stages: Vec<&'static str>, status: &str, processed: &str, total: &str) -> ObjectBuilder {
    let count = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(0))
            .description(Some(description))
    };
    let text = |format| ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(format)));
    ObjectBuilder::new()
        .title(Some(title))
        .schema_type(SchemaType::from(Type::Object))
        .property("session_id", text(KnownFormat::Uuid))
        .property("stage", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(stages)))
        .property("status", Ref::from_schema_name(status))
        .property("processed", count(processed))
        .property("total", count(total))
        .property("at", text(KnownFormat::DateTime))
        .required("session_id")
        .required("stage")
        .required("status")
        .required("processed")
        .required("total")
        .required("at")
}

impl PartialSchema for ProgressEvent {
    fn schema() -> RefOr<Schema> {
        let stages = Stage::ORDER.iter().map(|s| s.as_str()).collect();
        let stage = event(
            "StageProgress",
            stages,
            "StageStatus",
            "Items done in the stage.",
            "Items in the stage (as far as known).",
        );
        let session = event(
            "SessionEnded",
            vec!["session"],
            "SessionStatus",
            "Employees processed in the session.",
            "Changes the session detected.",
        );
        OneOfBuilder::new()
            .item(stage)
            .item(session)
            .description(Some(
                "One progress event: a stage's (at its start, while it runs, at its end), or the session's last, \
                 with `\"stage\":\"session\"` and the session's final status.",
            ))
            .into()
    }
}

impl ToSchema for ProgressEvent {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((StageStatus::name().into_owned(), StageStatus::schema()));
        schemas.push((SessionStatus::name().into_owned(), SessionStatus::schema()));
    }
}
