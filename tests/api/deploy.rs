//! The deployment in `deploy/` (`compose.yaml`, `nginx.conf`) and the `Dockerfile`, held to the
//! service they run: two replicas on one Redis, each ready-checked by the binary itself, nginx
//! in front of both with room for the largest body and the longest webhook, stops that outlast
//! the shutdown grace, and an image whose dependency layer stubs every bench.
//!
//! The files are read as text, line by line — no YAML or nginx parser, no new dependency. They
//! are written in the plain shape these checks expect (block-style YAML, one directive per
//! line); a check that cannot find what it looks for fails and names it.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use precall_webhook::app::config::Config;

const BIN: &str = env!("CARGO_BIN_EXE_precall-webhook");

fn repo_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The service's settings when nothing is configured: what the deployment runs with unless
/// the operator's `.env` says otherwise.
fn defaults() -> Config {
    Config::from_vars(|_| None, true).expect("the defaults are a valid configuration")
}

/// One service of `compose.yaml`: its name and the lines of its block, indentation kept.
struct Service {
    name: String,
    lines: Vec<String>,
}

impl Service {
    /// The value of a key directly under the service (`    image: x` → `x`).
    fn value(&self, key: &str) -> Option<String> {
        let prefix = format!("    {key}:");
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim().trim_matches('"').to_owned())
    }

    /// A variable of its `environment` list (`- NAME=value`).
    fn env(&self, name: &str) -> Option<String> {
        let prefix = format!("- {name}=");
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(&prefix))
            .map(str::to_owned)
    }

    /// Its health check's command, as the JSON-compatible flow list it is written as.
    fn healthcheck(&self) -> Vec<String> {
        let test = self
            .lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("test:"))
            .unwrap_or_else(|| panic!("{} has no healthcheck test", self.name));
        serde_json::from_str(test.trim())
            .unwrap_or_else(|e| panic!("{}: healthcheck test is not a flow list: {e}", self.name))
    }

    /// Whether it waits for `other` to be healthy before it starts.
    fn waits_until_healthy(&self, other: &str) -> bool {
        let Some(start) = self.lines.iter().position(|l| l == "    depends_on:") else {
            return false;
        };
        let block: Vec<&str> = self.lines[start + 1..]
            .iter()
            .take_while(|l| l.starts_with("      "))
            .map(|l| l.trim())
            .collect();
        block
            .windows(2)
            .any(|w| w[0] == format!("{other}:") && w[1] == "condition: service_healthy")
    }

    fn stop_grace_period(&self) -> Duration {
        let value = self
            .value("stop_grace_period")
            .unwrap_or_else(|| panic!("{} has no stop_grace_period", self.name));
        duration(&value)
    }
}

/// The services of `compose.yaml`, in order.
fn services(compose: &str) -> Vec<Service> {
    let mut services: Vec<Service> = Vec::new();
    let mut inside = false;
    for line in compose.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            inside = line == "services:";
            continue;
        }
        if !inside {
            continue;
        }
        let is_name = !line[2..].starts_with(' ') && line.trim_end().ends_with(':');
        if is_name {
            let name = line.trim().trim_end_matches(':').to_owned();
            services.push(Service {
                name,
                lines: Vec::new(),
            });
        } else if let Some(service) = services.last_mut() {
            service.lines.push(line.to_owned());
        }
    }
    services
}

/// The compose file's services, split into the replicas (built from this repository) and
/// the others by name.
fn compose() -> (Vec<Service>, Vec<Service>) {
    services(&repo_file("deploy/compose.yaml"))
        .into_iter()
        .partition(|s| s.value("build").is_some())
}

fn named<'a>(services: &'a [Service], name: &str) -> &'a Service {
    services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("compose.yaml has no service {name}"))
}

/// `60s`, `1m` (compose) or `75s`, `75` (nginx: seconds by default).
fn duration(value: &str) -> Duration {
    let (number, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let n: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("not a duration: {value}"));
    match unit {
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => panic!("unexpected duration unit in {value}"),
    }
}

/// nginx sizes: `30m` is 30 MiB.
fn size(value: &str) -> u64 {
    let lower = value.to_ascii_lowercase();
    let (number, factor) = match lower.as_bytes().last() {
        Some(b'k') => (&lower[..lower.len() - 1], 1 << 10),
        Some(b'm') => (&lower[..lower.len() - 1], 1 << 20),
        Some(b'g') => (&lower[..lower.len() - 1], 1 << 30),
        _ => (lower.as_str(), 1),
    };
    number
        .parse::<u64>()
        .unwrap_or_else(|_| panic!("not a size: {value}"))
        * factor
}

/// Every occurrence of an nginx directive, as its arguments (comments and `;` removed).
fn directives(name: &str) -> Vec<Vec<String>> {
    repo_file("deploy/nginx.conf")
        .lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_end_matches(';')
        })
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(name)).then(|| words.map(str::to_owned).collect())
        })
        .collect()
}

#[test]
fn two_identical_replicas_share_the_compose_redis() {
    let (replicas, others) = compose();
    assert!(
        replicas.len() >= 2,
        "fewer than two replicas built from this repository"
    );
    for replica in &replicas[1..] {
        assert_eq!(
            replica.lines, replicas[0].lines,
            "{} and {} must differ only in their names",
            replica.name, replicas[0].name
        );
    }
    let replica = &replicas[0];
    assert_eq!(replica.value("env_file").as_deref(), Some("../.env"));

    let url = replica
        .env("REDIS_URL")
        .expect("the replicas have a REDIS_URL");
    let rest = url.strip_prefix("redis://").expect("REDIS_URL is redis://");
    let host = rest.split([':', '/']).next().unwrap_or_default();
    let redis = named(&others, host);
    let image = redis.value("image").unwrap_or_default();
    assert!(
        image.contains("valkey") || image.contains("redis"),
        "{host} runs {image}"
    );
    assert!(
        rest.starts_with(&format!("{host}:6379/")),
        "{url}: the store's port is 6379"
    );
    let ping = redis.healthcheck().join(" ");
    assert!(
        ping.contains("ping"),
        "Redis is health-checked with a ping, not: {ping}"
    );
}

#[test]
fn each_replica_is_ready_checked_on_ready_by_the_binary_itself() {
    let (replicas, _) = compose();
    for replica in &replicas {
        let test = replica.healthcheck();
        assert_eq!(
            test[..3],
            ["CMD", "precall-webhook", "healthcheck"],
            "{}",
            replica.name
        );
        let url = test.last().unwrap();
        let port = replica
            .env("PRECALL_WEBHOOK_PORT")
            .expect("the port is pinned");
        assert_eq!(
            url,
            &format!("http://127.0.0.1:{port}/ready"),
            "{}",
            replica.name
        );
    }

    // The same arguments, against an address where nothing listens: the binary must take them
    // (a usage error exits 2) and fail only because nothing answered.
    let nothing = crate::helpers::NothingListens::new();
    let dead = nothing.address.to_string();
    let args: Vec<String> = replicas[0].healthcheck()[2..]
        .iter()
        .map(|a| a.replace("127.0.0.1:3005", &dead))
        .collect();
    let mut command = Command::new(BIN);
    for name in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
        command.env_remove(name);
    }
    let output = command.args(&args).output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stderr.contains("cannot reach"), "{args:?}: {stderr}");
}

#[test]
fn replicas_start_on_a_healthy_redis_and_nginx_on_healthy_replicas() {
    let (replicas, others) = compose();
    let nginx = named(&others, "nginx");
    for replica in &replicas {
        assert!(
            replica.waits_until_healthy("redis"),
            "{} must wait for Redis",
            replica.name
        );
        assert!(
            nginx.waits_until_healthy(&replica.name),
            "nginx must wait for {} to be healthy",
            replica.name
        );
    }
    assert!(
        nginx
            .lines
            .iter()
            .any(|l| l.trim() == "- ./nginx.conf:/etc/nginx/nginx.conf:ro"),
        "nginx runs deploy/nginx.conf, read-only"
    );
}

#[test]
fn nginx_balances_over_every_replica_on_its_port_with_keepalive() {
    let (replicas, _) = compose();
    let expected: BTreeSet<String> = replicas
        .iter()
        .map(|r| format!("{}:{}", r.name, r.env("PRECALL_WEBHOOK_PORT").unwrap()))
        .collect();
    let servers: BTreeSet<String> = directives("server")
        .into_iter()
        .filter(|args| args.first().is_some_and(|a| a != "{"))
        .map(|args| args[0].clone())
        .collect();
    assert_eq!(
        servers, expected,
        "the upstream names every replica, and nothing else"
    );

    let upstream = &directives("upstream")[0][0];
    for pass in directives("proxy_pass") {
        assert_eq!(pass[0], format!("http://{upstream}"));
    }
    assert!(
        !directives("keepalive").is_empty(),
        "connections to the replicas are kept"
    );
    assert_eq!(directives("proxy_http_version"), [["1.1"]]);
    assert!(directives("proxy_set_header").contains(&vec!["Connection".into(), "\"\"".into()]));
}

#[test]
fn nginx_lets_the_largest_body_through_that_the_service_accepts() {
    let config = defaults();
    let largest = config.max_body_bytes().max(config.post_call_max_body_bytes);
    let caps = directives("client_max_body_size");
    assert!(!caps.is_empty(), "nginx's own default is 1 MB");
    for cap in caps {
        assert!(
            size(&cap[0]) >= largest,
            "client_max_body_size {} < {largest} bytes",
            cap[0]
        );
    }
}

#[test]
fn nginx_waits_longer_than_one_webhook_can_take() {
    let longest = defaults().longest_webhook();
    for name in ["proxy_read_timeout", "proxy_send_timeout"] {
        let values = directives(name);
        assert!(
            !values.is_empty(),
            "{name} is set (nginx's default is 60 s)"
        );
        for value in values {
            assert!(
                duration(&value[0]) > longest,
                "{name} {} <= {longest:?}",
                value[0]
            );
        }
    }
}

#[test]
fn nginx_never_resends_a_request_a_replica_may_have_received() {
    for args in directives("proxy_next_upstream") {
        assert!(!args.contains(&"non_idempotent".to_owned()), "{args:?}");
    }
}

#[test]
fn a_stop_waits_longer_than_the_shutdown_grace() {
    let grace = defaults().shutdown_grace;
    let (replicas, others) = compose();
    for service in replicas.iter().chain([named(&others, "nginx")]) {
        let stop = service.stop_grace_period();
        assert!(
            stop > grace,
            "{}: stop_grace_period {stop:?} <= {grace:?}",
            service.name
        );
    }
}

#[test]
fn no_secret_is_written_in_the_compose_file() {
    let compose = repo_file("deploy/compose.yaml");
    for name in [
        "ELEVENLABS_API_KEY",
        "ELEVENLABS_WEBHOOK_SECRET",
        "ELEVENLABS_POST_CALL_SECRET",
        "CALLER_KEY_SECRET",
        "CONVERSATION_INITIATION_TOKEN",
    ] {
        assert!(
            !compose.contains(name),
            "{name} belongs in .env, not in compose.yaml"
        );
    }
}

#[test]
fn the_image_stubs_every_bench_the_manifest_declares() {
    let mut benches = Vec::new();
    let mut in_bench = false;
    for line in repo_file("Cargo.toml").lines() {
        if line.starts_with('[') {
            in_bench = line == "[[bench]]";
        } else if in_bench {
            let (key, value) = line.split_once('=').unwrap_or(("", ""));
            match key.trim() {
                "name" => benches.push(value.trim().trim_matches('"').to_owned()),
                "path" => panic!("a bench with its own path needs its stub there: {line}"),
                _ => {}
            }
        }
    }
    assert!(!benches.is_empty());

    // Run the Dockerfile's own listing against the manifest.
    let dockerfile = repo_file("Dockerfile");
    let line = dockerfile
        .lines()
        .find(|l| l.contains("for bench in $("))
        .expect("the Dockerfile's stub loop");
    let start = line.find("$(").unwrap() + 2;
    let end = line.rfind("); do").expect("for bench in $(…); do");
    let output = Command::new("sh")
        .args(["-c", &line[start..end]])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sh runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stubbed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(stubbed, benches);
    assert!(
        dockerfile.contains(r#"> "benches/$bench.rs""#),
        "each stub is benches/NAME.rs"
    );
}
