//! Where an endpoint may point: an `http`/`https` URL whose host resolves only to public
//! addresses ([`super::address::refused`]), checked when it is registered and again on every
//! delivery by the HTTP client's resolver (so a name that starts resolving inside is refused
//! then). Redirects are never followed.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

use super::address::refused;

/// Why a URL cannot be an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("url: {0}")]
    Malformed(String),
    #[error(
        "url: {host} resolves to {ip}, a {why} address; endpoints must be on public addresses (or set ENDPOINT_ALLOW_PRIVATE_NETWORKS=true)"
    )]
    Private { host: String, ip: IpAddr, why: &'static str },
    #[error("url: {0} does not resolve")]
    Unresolvable(String),
}

/// Check a URL as `POST`/`PATCH /api/endpoints` receive it; returns it parsed.
pub async fn check_url(text: &str, allow_private: bool) -> Result<Url, UrlProblem> {
    let url = Url::parse(text.trim()).map_err(|e| UrlProblem::Malformed(format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlProblem::Malformed("the scheme must be http or https".into()));
    }
    if text.len() > 2048 {
        return Err(UrlProblem::Malformed("at most 2048 characters".into()));
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or(UrlProblem::Malformed("no host".into()))?.to_string();
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match literal_ip(&url) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| UrlProblem::Unresolvable(host.clone()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(UrlProblem::Unresolvable(host));
    }
    for a in &addrs {
        if let Some(why) = refused(a.ip()) {
            return Err(UrlProblem::Private { host, ip: a.ip(), why });
        }
    }
    Ok(url)
}

/// The URL's host when it is an IP address (the client's resolver is not asked for those).
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// The delivery client's resolver: the system's, keeping only public addresses.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.iter().copied().filter(|a| refused(a.ip()).is_none()).collect();
            if public.is_empty() {
                let why = all.first().and_then(|a| refused(a.ip())).unwrap_or("unresolvable");
                return Err(format!("{host} resolves to no public address ({why})").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client deliveries use: no redirects, the attempt timeout, and (unless private
/// networks are allowed) the public-only resolver.
pub fn client(timeout: std::time::Duration, allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("employes-sync/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(64);
    if allow_private { builder.build() } else { builder.dns_resolver(Arc::new(PublicOnly)).build() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn by_default_loopback_private_link_local_and_metadata_urls_are_refused() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/hook",
            "http://localhost:8080/hook",
        ] {
            let problem = check_url(url, false).await.unwrap_err();
            assert!(matches!(problem, UrlProblem::Private { .. }), "{url}: {problem}");
            assert!(problem.to_string().contains("ENDPOINT_ALLOW_PRIVATE_NETWORKS"), "{problem}");
        }
        assert!(check_url("http://127.0.0.1:9/hook", true).await.is_ok(), "allowed when configured");
    }

    #[tokio::test]
    async fn only_http_urls_with_a_host_are_endpoints() {
        for url in ["ftp://example.com/x", "not a url", "file:///etc/passwd", "https://"] {
            assert!(matches!(check_url(url, true).await, Err(UrlProblem::Malformed(_))), "{url}");
        }
        assert!(check_url("https://93.184.215.14/hook", false).await.is_ok(), "a public literal address");
    }
}
