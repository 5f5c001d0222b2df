//! Deploy-time holes the running service can see for itself.
//!
//! `fastly compute deploy` creates a new service's backends and Config Store from
//! fastly.toml's `[setup]`, and accepts whatever it is given: the manifest's
//! `REPLACE-WITH-YOUR-DOMAIN` address when nobody types another (always, with
//! `--accept-defaults` or `--non-interactive`), and for a config item whose manifest
//! value is empty the CLI's own default, `example` (fastly/cli,
//! `pkg/commands/compute/setup/config_store.go`). The service's domain is only chosen
//! during that same deploy, so nothing at deploy time checks that backend `self` and
//! the relying party name it.
//!
//! A service deployed like that cannot work: Fanout calls a placeholder host back (no
//! live update ever arrives), and browsers refuse every passkey ceremony for a
//! placeholder RP. Worse than failing, it fails without saying why. So every request
//! (except the static files the error page itself needs) is refused with a 503 that
//! names the setting to fix, and the same sentence is logged (`http::deployment`).
//!
//! This module is the pure part: given what the host reports, which settings are
//! placeholders, and what to tell the operator. Nothing here touches the host.

/// The manifest's stand-in for the service's domain (fastly.toml `[setup]`).
pub const PLACEHOLDER: &str = "REPLACE-WITH-YOUR-DOMAIN";

/// What the Fastly CLI's `[setup]` stores for a config item whose manifest value is
/// empty (and offers as the default at its prompt).
pub const CLI_DEFAULT: &str = "example";

/// One setting a deployment left at a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting, as an operator finds it: `backend self`, or a Config Store key.
    pub setting: &'static str,
    /// What it holds now.
    pub value: String,
}

/// What the host says about backend `self`, Fanout's call-back target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfBackend {
    /// It exists and points at this host name.
    Host(String),
    /// The service has no backend called `self`.
    Missing,
    /// The host could not say (an error from the host call): nothing to judge.
    Unknown,
}

impl Problem {
    /// The sentence for the 503 and the log: which setting, what it holds, how to fix it.
    pub fn sentence(&self) -> String {
        let value = &self.value;
        match self.setting {
            "backend self" if value.is_empty() => "The service has no backend called self, \
                 so Fanout cannot call it back and no live update can work: create it with \
                 this service's own domain (fastly backend create --name self --address \
                 <domain> --port 443 --override-host <domain> --use-ssl --version active \
                 --autoclone, then fastly service-version activate --version latest)."
                .to_owned(),
            "backend self" => format!(
                "Backend self points at {value:?}, a placeholder, so Fanout cannot call this \
                 service back and no live update can work: point it at this service's own \
                 domain (fastly backend update --name self --version active --autoclone \
                 --address <domain> --override-host <domain> --ssl-cert-hostname <domain> \
                 --ssl-sni-hostname <domain>, then fastly service-version activate --version \
                 latest)."
            ),
            setting => format!(
                "Config Store edge_chat_config: {setting} is still the placeholder \
                 {value:?}, so passkeys and cross-site checks cannot work: set it to this \
                 service's domain (fastly config-store-entry update --store-id <id> --key \
                 {setting} --value <value>), or delete it (fastly config-store-entry delete) \
                 to use the domain each request comes to."
            ),
        }
    }
}

/// Whether a host name (or a whole setting's value) is a placeholder: it names
/// `REPLACE-WITH-YOUR-DOMAIN` (any case), or it is the CLI's default `example`.
pub fn is_placeholder_host(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.');
    host.eq_ignore_ascii_case(CLI_DEFAULT)
        || host
            .to_ascii_uppercase()
            .contains(&PLACEHOLDER.to_ascii_uppercase())
}

/// Whether one origin (`https://host[:port]`, or a bare value) names a placeholder host.
pub fn is_placeholder_origin(origin: &str) -> bool {
    let origin = origin.trim();
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = rest.split(['/', ':']).next().unwrap_or(rest);
    is_placeholder_host(host) || is_placeholder_host(origin)
}

/// Whether an `admins` value is the CLI's default rather than anyone's choice: read as
/// a name, it would make whoever signs up as "example" an admin.
pub fn is_cli_default(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case(CLI_DEFAULT)
}

/// Every placeholder among what the request's answer depends on: backend `self`, the
/// configured `rp_id` (`None`: unset, the request's host serves) and `rp_origins`.
pub fn problems(
    self_backend: &SelfBackend,
    rp_id: Option<&str>,
    rp_origins: &[String],
) -> Vec<Problem> {
    let mut found = Vec::new();
    match self_backend {
        SelfBackend::Host(host) if is_placeholder_host(host) => found.push(Problem {
            setting: "backend self",
            value: host.clone(),
        }),
        SelfBackend::Missing => found.push(Problem {
            setting: "backend self",
            value: String::new(),
        }),
        SelfBackend::Host(_) | SelfBackend::Unknown => {}
    }
    if let Some(rp_id) = rp_id.filter(|id| is_placeholder_host(id)) {
        found.push(Problem {
            setting: "rp_id",
            value: rp_id.to_owned(),
        });
    }
    if rp_origins.iter().any(|o| is_placeholder_origin(o)) {
        found.push(Problem {
            setting: "rp_origins",
            value: rp_origins.join(","),
        });
    }
    found
}

/// Two names of this service that should be one: a request came to `request_host`, but
/// Fanout calls back `self_host`. Both under `edgecompute.app` and different means the
/// deploy chose one domain and the backend was given another (a custom domain in front
/// of an `edgecompute.app` backend is fine, so only that case is reported).
pub fn is_other_edgecompute_name(self_host: &str, request_host: &str) -> bool {
    const SUFFIX: &str = ".edgecompute.app";
    let ours = |h: &str| h.to_ascii_lowercase().ends_with(SUFFIX);
    ours(self_host) && ours(request_host) && !self_host.eq_ignore_ascii_case(request_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn placeholders_are_the_manifests_and_the_clis() {
        for bad in [
            "REPLACE-WITH-YOUR-DOMAIN.edgecompute.app",
            "replace-with-your-domain.edgecompute.app",
            "REPLACE-WITH-YOUR-DOMAIN",
            "example",
            "EXAMPLE",
            " example ",
            "example.",
        ] {
            assert!(is_placeholder_host(bad), "{bad:?}");
        }
        for good in [
            "my-chat.edgecompute.app",
            "127.0.0.1",
            "localhost",
            "chat.example.com",
            "examples.org",
            "",
        ] {
            assert!(!is_placeholder_host(good), "{good:?}");
        }
    }

    #[test]
    fn origins_are_judged_by_their_host() {
        for bad in [
            "https://REPLACE-WITH-YOUR-DOMAIN.edgecompute.app",
            "https://example",
            "http://example:8080",
            "https://example/",
            "example",
        ] {
            assert!(is_placeholder_origin(bad), "{bad:?}");
        }
        for good in [
            "https://my-chat.edgecompute.app",
            "http://localhost:7676",
            "https://chat.example.com",
            "https://example.com:443",
        ] {
            assert!(!is_placeholder_origin(good), "{good:?}");
        }
    }

    #[test]
    fn every_placeholder_is_named() {
        let self_host = SelfBackend::Host("REPLACE-WITH-YOUR-DOMAIN.edgecompute.app".into());
        let found = problems(
            &self_host,
            Some("example"),
            &origins(&["https://a.example.org", "https://example"]),
        );
        let settings: Vec<_> = found.iter().map(|p| p.setting).collect();
        assert_eq!(settings, ["backend self", "rp_id", "rp_origins"]);
        assert!(found[0].sentence().contains("Backend self points at"));
        assert!(
            found[1]
                .sentence()
                .contains("edge_chat_config: rp_id is still the placeholder")
        );
        assert!(
            found[2]
                .sentence()
                .contains("https://a.example.org,https://example")
        );
    }

    #[test]
    fn a_good_or_unknown_deployment_has_no_problem() {
        let local = SelfBackend::Host("127.0.0.1".into());
        assert_eq!(
            problems(
                &local,
                Some("localhost"),
                &origins(&["http://localhost:7676"])
            ),
            []
        );
        assert_eq!(problems(&local, None, &[]), []);
        assert_eq!(problems(&SelfBackend::Unknown, None, &[]), []);
        let missing = problems(&SelfBackend::Missing, None, &[]);
        assert_eq!(missing.len(), 1);
        assert!(missing[0].sentence().contains("no backend called self"));
    }

    #[test]
    fn the_cli_default_is_no_admin_list() {
        assert!(is_cli_default("example"));
        assert!(is_cli_default(" Example "));
        assert!(!is_cli_default("ann,example"));
        assert!(!is_cli_default("examples"));
    }

    #[test]
    fn two_edgecompute_names_disagree() {
        assert!(is_other_edgecompute_name(
            "a.edgecompute.app",
            "b.edgecompute.app"
        ));
        assert!(!is_other_edgecompute_name(
            "a.edgecompute.app",
            "A.edgecompute.app"
        ));
        assert!(!is_other_edgecompute_name(
            "a.edgecompute.app",
            "chat.example.com"
        ));
        assert!(!is_other_edgecompute_name("127.0.0.1", "localhost"));
    }
}
