//! The load balancer's nginx.conf exactly as the guide gives it (step 3): one `least_conn`
//! upstream per service, each listing every node, and one `server` per listened port.

use std::fmt::Write;

/// (upstream, listen, port on the nodes, extra server directives)
const SERVICES: [(&str, &str, u16, &[&str]); 6] = [
    ("stream_http", "80", 80, &[]),
    ("stream_https", "443", 443, &["proxy_buffer_size 10m;"]),
    ("stream_initial_config", "4443", 4443, &[]),
    (
        "stream_kubernetes",
        "6443",
        6443,
        &["proxy_timeout 10s;", "proxy_connect_timeout 10s;"],
    ),
    (
        "stream_elk",
        "12201 udp",
        12201,
        &["proxy_timeout 30s;", "proxy_connect_timeout 60s;"],
    ),
    ("stream_registry", "15000", 15000, &[]),
];

/// `with_stream_module`: prepend the guide's `load_module` line (C6's fix), for re-renders after
/// the fix was needed once.
pub fn render(node_addresses: &[String], with_stream_module: bool) -> String {
    let mut out = String::new();
    if with_stream_module {
        out.push_str(crate::procedure::commands::LOAD_STREAM_MODULE);
        out.push('\n');
    }
    out.push_str(
        "user www-data;\nworker_processes auto;\nworker_rlimit_nofile 70000;\npid /run/nginx.pid;\n\
         events {\n    worker_connections 70000;\n    # multi_accept on;\n}\nstream {\n",
    );
    for (name, _, port, _) in SERVICES {
        let _ = writeln!(out, "    upstream {name} {{\n        least_conn;");
        for addr in node_addresses {
            let _ = writeln!(out, "        server {addr}:{port};");
        }
        out.push_str("    }\n");
    }
    for (name, listen, _, extra) in SERVICES {
        let _ = writeln!(
            out,
            "    server {{\n        listen {listen};\n        proxy_pass {name};"
        );
        for directive in extra {
            let _ = writeln!(out, "        {directive}");
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_upstream_lists_every_node_and_udp_is_udp() {
        let nodes: Vec<String> = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
            .map(String::from)
            .to_vec();
        let conf = render(&nodes, false);
        assert_eq!(conf.matches("least_conn;").count(), 6);
        for port in [80, 443, 4443, 6443, 12201, 15000] {
            for n in &nodes {
                assert!(conf.contains(&format!("server {n}:{port};")), "{n}:{port}");
            }
        }
        assert!(conf.contains("listen 12201 udp;"));
        assert!(conf.contains("proxy_buffer_size 10m;"));
        assert!(conf.starts_with("user www-data;"));
        assert!(render(&nodes, true)
            .starts_with("load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nuser"));
    }
}
