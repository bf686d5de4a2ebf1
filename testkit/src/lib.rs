//! The dev-only kit of employes-sync, shared by `tests/integration`, `benches/` and
//! `examples/bench` (never published, never a dependency of the service):
//!
//! - [`nats`]: a throwaway `nats-server -js` (free port, temp store) a test may stop, restart,
//!   freeze and thaw; the local 3-node cluster; replaying what a stream holds.
//! - [`postgres`]: a fresh database per test (named after `TEST_DB_PREFIX`); a Postgres cluster
//!   of its own a test may crash or freeze.
//! - [`process`]: `employes-sync serve` (or any command) as a child process, its output captured.
//! - [`sim`]: the Employes simulator served in this process, and its control API.
//! - [`webhook`]: the one signed-webhook sender (signed by `employes_sync::webhook_signature`).
//! - [`poll`]: [`eventually`], polling with a deadline instead of sleeping.
//! - [`http`]: free ports and typed answers (`(status, JSON)`, raw HTTP/1.1 responses).
//! - [`contracts`]: the third-party contract tools (`scripts/contracts.sh`), and judging a NATS
//!   message against the AsyncAPI document.
//! - [`synthetic`]: generated input for the change-detection benchmarks; [`alloc`]: the counting
//!   allocator behind the benches' memory figures.
//!
//! Helpers panic with a message naming what failed: they serve tests, where a panic is the
//! report (the bench runs each scenario under `catch_unwind` and records it as missing).

pub mod alloc;
pub mod contracts;
pub mod http;
pub mod nats;
pub mod poll;
pub mod postgres;
pub mod process;
pub mod settings;
pub mod sim;
pub mod synthetic;
pub mod webhook;

use std::path::{Path, PathBuf};

pub use http::{free_port, reply};
pub use poll::eventually;
pub use webhook::Webhook;

/// The API token services under test accept (as `API_TOKENS=ci:<token>`).
pub const API_TOKEN: &str = "ci-token-0123456789abcdef";
/// The JWT secret services under test verify user tokens with.
pub const JWT_SECRET: &str = "jwt-test-secret-0123456789";
/// `whsec_` + base64 of [`WEBHOOK_KEY`]: the webhook secret services under test verify with.
pub const WEBHOOK_SECRET: &str = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5";
/// The key behind [`WEBHOOK_SECRET`].
pub const WEBHOOK_KEY: &[u8] = b"test-webhook-secret-0123456789";
/// The Employes API key services under test send to the simulator.
pub const EMPLOYES_API_KEY: &str = "test-api-key-secret-value";

/// The repository's root directory: the checkout whose `target/` holds the running executable
/// (so a build directory copied to another checkout, which cargo does not rebuild testkit for,
/// still runs that checkout's binary and writes its files); else where testkit was compiled.
pub fn repo_root() -> PathBuf {
    std::env::current_exe().ok().as_deref().and_then(checkout_of).unwrap_or_else(|| {
        let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
        kit.parent().expect("testkit/ lives in the repository").to_path_buf()
    })
}

/// The checkout an executable under `<root>/target/…` was built in.
fn checkout_of(exe: &Path) -> Option<PathBuf> {
    let target = exe.ancestors().find(|dir| dir.file_name().is_some_and(|name| name == "target"))?;
    let root = target.parent()?;
    root.join("testkit").is_dir().then(|| root.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_checkout_holding_the_executable() {
        let here = repo_root();
        assert!(here.join("testkit").is_dir(), "{here:?}");
        let exe = here.join("target/release/examples/bench");
        assert_eq!(checkout_of(&exe), Some(here.clone()));
        assert_eq!(checkout_of(Path::new("/usr/bin/bench")), None, "not under a target/ directory");
        assert_eq!(checkout_of(Path::new("/nowhere/target/release/x")), None, "not a checkout of this repository");
    }
}
