//! The document in the repository is what the code generates, and a third-party parser accepts it.

use std::path::PathBuf;

fn repository_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(super::FILE)
}

#[test]
fn docs_asyncapi_yaml_is_what_the_code_generates() {
    // Arrange
    let generated = super::yaml();
    if std::env::var_os("ASYNCAPI_WRITE").is_some() {
        std::fs::write(repository_file(), &generated).expect("docs/asyncapi.yaml is writable");
    }
    // Act
    let on_disk = std::fs::read_to_string(repository_file()).unwrap_or_default();
    // Assert
    assert!(on_disk == generated, "{}", super::stale_report(&on_disk, &generated));
}

#[test]
fn the_document_is_valid_asyncapi_according_to_the_asyncapi_parser() {
    // Arrange
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("asyncapi.yaml");
    std::fs::write(&file, super::yaml()).unwrap();
    // Act
    let run = testkit::contracts::tool(&["asyncapi-validate", file.to_str().unwrap()], &[]);
    // Assert
    if let Some(output) = run.passed("@asyncapi/parser on the document") {
        assert!(output.contains("valid AsyncAPI 3.0.0"), "{output}");
    }
}

#[test]
fn every_channel_names_its_parameters_and_every_message_it_lists_exists() {
    // Arrange
    let doc = super::document();
    // Act
    let mut problems = Vec::new();
    for channel in super::CHANNELS {
        let json = &doc["channels"][channel.id];
        for name in channel.address.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(n, _)| n)) {
            if doc["components"]["parameters"][name].is_null() {
                problems.push(format!("{}: no parameter {name}", channel.id));
            }
        }
        for message in channel.messages {
            if doc["components"]["messages"][message]["payload"].is_null() {
                problems.push(format!("{}: no message {message}", channel.id));
            }
        }
        if json["x-coming"].is_null() == channel.coming {
            problems.push(format!("{}: coming is not marked", channel.id));
        }
    }
    // Assert
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn every_stream_the_bus_creates_is_described_by_a_channel() {
    // Arrange
    let described: Vec<&str> = super::CHANNELS.iter().filter_map(|c| c.stream).map(|s| s.name).collect();
    // Act
    let missing: Vec<&str> =
        crate::bus::streams::STREAMS.iter().map(|s| s.name).filter(|name| !described.contains(name)).collect();
    // Assert
    assert!(missing.is_empty(), "streams no channel describes: {missing:?}");
}
