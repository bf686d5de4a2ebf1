//! The dashboard page, embedded in the binary (no CDN: it works offline).
//!
//! `assets/dashboard/` holds the page, its stylesheet and its ES modules (no build step); each
//! file is served at `/employes-sync/<file>` from the [`ASSETS`] table.

use axum::{
    Router,
    http::header,
    response::{IntoResponse, Redirect},
    routing::get,
};

use super::AppState;

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
/// Module scripts are only run when served with a JavaScript MIME type.
const JS: &str = "text/javascript; charset=utf-8";

const INDEX: &str = include_str!("../../assets/dashboard/index.html");

macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        ($file, $content_type, include_str!(concat!("../../assets/dashboard/", $file)))
    };
}

/// Every file the page loads: (name under `/employes-sync/`, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    asset!("app.css", CSS),
    asset!("main.js", JS),
    asset!("advice.js", JS),
    asset!("api.js", JS),
    asset!("auth.js", JS),
    asset!("changes-filter.js", JS),
    asset!("changes-page.js", JS),
    asset!("changes.js", JS),
    asset!("companies.js", JS),
    asset!("company.js", JS),
    asset!("csv.js", JS),
    asset!("demo.js", JS),
    asset!("dom.js", JS),
    asset!("employee.js", JS),
    asset!("employees.js", JS),
    asset!("endpoints.js", JS),
    asset!("event-stream.js", JS),
    asset!("format.js", JS),
    asset!("history.js", JS),
    asset!("identity.js", JS),
    asset!("issues.js", JS),
    asset!("live.js", JS),
    asset!("milestone-text.js", JS),
    asset!("names.js", JS),
    asset!("overview.js", JS),
    asset!("panels.js", JS),
    asset!("progress.js", JS),
    asset!("router.js", JS),
    asset!("sessions.js", JS),
    asset!("state.js", JS),
    asset!("stats.js", JS),
    asset!("status.js", JS),
    asset!("sync.js", JS),
    asset!("timeline-chart.js", JS),
    asset!("toasts.js", JS),
    asset!("upcoming.js", JS),
];

pub fn router() -> Router<AppState> {
    let router = Router::new()
        .route("/", get(|| async { Redirect::temporary("/employes-sync") }))
        .route("/employes-sync", get(|| async { page(HTML, INDEX) }))
        // The page loads everything by absolute path, so it works at either address.
        .route("/employes-sync/", get(|| async { page(HTML, INDEX) }));
    ASSETS.iter().fold(router, |router, &(name, content_type, body)| {
        router.route(&format!("/employes-sync/{name}"), get(move || async move { page(content_type, body) }))
    })
}

fn page(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(name: &str) -> bool {
        ASSETS.iter().any(|&(n, _, _)| n == name)
    }

    /// `./x.js` of every `import … from './x.js'` in `source`.
    fn imports(source: &str) -> Vec<&str> {
        source
            .split("from './")
            .skip(1)
            .map(|rest| &rest[..rest.find('\'').expect("an import path ends with a quote")])
            .collect()
    }

    #[test]
    fn every_file_in_assets_dashboard_is_served_with_its_content_type() {
        // Arrange
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dashboard");
        // Act
        let files: Vec<String> = std::fs::read_dir(&dir)
            .expect("assets/dashboard exists")
            .map(|entry| entry.expect("a readable entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name != "index.html")
            .collect();
        // Assert
        for name in &files {
            assert!(served(name), "assets/dashboard/{name} is not in ASSETS: the page cannot load it");
        }
        for &(name, content_type, _) in ASSETS {
            let want = if name.ends_with(".js") { JS } else { CSS };
            assert_eq!(content_type, want, "{name}");
        }
        assert_eq!(files.len(), ASSETS.len(), "ASSETS names a file that is not in assets/dashboard");
    }

    #[test]
    fn the_page_and_every_module_import_only_served_files() {
        // Arrange
        let page_refs = ["/employes-sync/main.js", "/employes-sync/app.css"];
        // Act
        let missing: Vec<String> = ASSETS
            .iter()
            .filter(|(name, _, _)| name.ends_with(".js"))
            .flat_map(|&(name, _, body)| imports(body).into_iter().map(move |import| (name, import)))
            .filter(|(_, import)| !served(import))
            .map(|(name, import)| format!("{name} imports ./{import}"))
            .collect();
        // Assert
        assert!(missing.is_empty(), "imports of files that are not served: {missing:?}");
        for reference in page_refs {
            assert!(INDEX.contains(reference), "index.html no longer loads {reference}");
            assert!(served(reference.trim_start_matches("/employes-sync/")), "{reference} is not served");
        }
        assert!(
            INDEX.contains(r#"<script type="module" src="/employes-sync/main.js">"#),
            "main.js is loaded as a module"
        );
    }
}
