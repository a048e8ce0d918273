//! The procedure's commands, verbatim, with their placeholders filled. Steps issue them and
//! `acura-ha plan` prints them, from this one place.
//!
//! Adaptations (each minimal, each for a reason the guide cannot see):
//! - every SSH command runs in a fresh shell, so commands the guide types inside the unpacked
//!   archive with the venv active get the prefix `cd hystax_ha_archive && source venv.sh && `;
//! - C6's "prepend this line" is done with `sed -i '1i …'`;
//! - C14 stops the agent it started, so no process outlives the step.

use crate::scenario::Flavor;

pub const ETCD_PKI: &str = "--cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/peer.crt --key /etc/kubernetes/pki/etcd/peer.key";
pub const LOAD_STREAM_MODULE: &str = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;";
pub const IN_ARCHIVE: &str = "cd hystax_ha_archive && source venv.sh && ";

pub fn c1() -> String {
    "cat /etc/resolv.conf".into()
}

pub fn c2(probe: &str) -> String {
    format!("nslookup {probe}")
}

pub fn c3() -> String {
    "hostname".into()
}

pub fn c4(node_addresses: &[String]) -> String {
    format!(
        "for i in {}; do nc -vz -w 2 $i 22; done",
        node_addresses.join(" ")
    )
}

pub fn c5() -> String {
    "nginx -t".into()
}

pub fn c6() -> String {
    format!("sed -i '1i {LOAD_STREAM_MODULE}' /etc/nginx/nginx.conf")
}

pub fn c7() -> String {
    "sudo apt install python3-pip sshpass".into()
}

pub fn c8() -> String {
    "pip3 install --upgrade pip==20.3.4".into()
}

pub fn c9() -> String {
    r#"pip3 install "virtualenv<20.0""#.into()
}

pub fn c10() -> String {
    "tar xvzf hystax-ha-archive.tar.gz".into()
}

pub fn c11() -> String {
    "cd hystax_ha_archive && source venv.sh && pip install -r requirements.txt".into()
}

pub fn c12() -> String {
    "sudo apt install libffi-dev && cd hystax_ha_archive && source venv.sh && pip install -r requirements.txt".into()
}

/// One line per node: `<HOSTNAME> ansible_ssh_host=<IP>`, plus the key file because the run key
/// is not `~/.ssh/id_rsa`.
pub fn ha_env_file(nodes: &[(String, String)], key_file: &str) -> String {
    nodes
        .iter()
        .map(|(hostname, ip)| {
            format!("{hostname} ansible_ssh_host={ip} ansible_ssh_private_key_file={key_file}\n")
        })
        .collect()
}

pub fn c13(content: &str) -> String {
    format!("cat > hystax_ha_archive/ha_env_file <<'EOF'\n{content}EOF")
}

pub fn c14(key_file: &str) -> String {
    format!(
        r#"eval "$(ssh-agent -s)" && ssh-add {key_file}; status=$?; ssh-agent -k >/dev/null; exit $status"#
    )
}

fn become_flag(user: &str) -> &'static str {
    if user == "root" {
        ""
    } else {
        " -K"
    }
}

pub fn c15(user: &str, lb: &str) -> String {
    format!(
        r#"{IN_ARCHIVE}ANSIBLE_HOST_KEY_CHECKING=False ansible-playbook -e "ansible_ssh_user={user}" -e "lb_address={lb}" -e "ansible_python_interpreter=/usr/bin/python3" -e "logstash_host=127.0.0.1"{} -i ha_env_file ansible/k8s-master.yaml"#,
        become_flag(user)
    )
}

/// The guide's overlay list for a fresh install of `flavor`.
pub fn initial_overlays(flavor: Flavor) -> Vec<String> {
    vec![
        "overlay/ha.yaml".into(),
        "overlay/golden-image.yml".into(),
        flavor.distr_overlay().into(),
        "overlay/startup_reconfigure.yaml".into(),
    ]
}

fn overlay_json(overlays: &[String]) -> String {
    let items: Vec<String> = overlays.iter().map(|o| format!("\"{o}\"")).collect();
    format!(r#"{{"overlay_list": [{}]}}"#, items.join(", "))
}

pub fn c16(user: &str, overlays: &[String]) -> String {
    format!(
        r#"{IN_ARCHIVE}ansible-playbook -e "ansible_ssh_user={user}" -e '{}' -e "copy_patch=true" -e "copy_ca=true"{} -i ha_env_file ansible/ha-acura.yaml"#,
        overlay_json(overlays),
        become_flag(user)
    )
}

pub fn c17() -> String {
    "kubectl get pods -A".into()
}

pub fn c18(lb: &str) -> String {
    format!("curl -ksS -o /dev/null -w '%{{http_code}}\\n' https://{lb}/")
}

pub fn c19() -> String {
    "kubectl exec -ti etcd-0 -- etcdctl get /overlay_list".into()
}

/// The product stores the list comma-separated (C19 accepts the guide's `[...]` form too).
pub fn c20(overlays: &[String]) -> String {
    format!(
        "kubectl exec -ti etcd-0 -- etcdctl set /overlay_list '{}'",
        overlays.join(",")
    )
}

pub fn c21(user: &str, overlays: &[String]) -> String {
    format!(
        r#"{IN_ARCHIVE}ansible-playbook -e "ansible_ssh_user={user}" -e '{}' -e "copy_patch=true" -e "copy_ca=true" -e "update_cluster=true"{} -i ha_env_file ansible/ha-acura.yaml"#,
        overlay_json(overlays),
        become_flag(user)
    )
}

pub fn c22() -> String {
    "kubectl get nodes".into()
}

pub fn c23(dead: &str) -> String {
    format!("kubectl delete node {dead}")
}

pub fn c24(live: &str) -> String {
    format!("kubectl exec etcd-{live} -n kube-system -- etcdctl {ETCD_PKI} member list")
}

pub fn c25(live: &str, member_id: &str) -> String {
    format!(
        "kubectl exec etcd-{live} -n kube-system -- etcdctl {ETCD_PKI} member remove {member_id}"
    )
}

pub fn c26() -> String {
    "kubeadm token create --print-join-command".into()
}

pub fn c27() -> String {
    "sudo kubeadm init phase upload-certs --upload-certs".into()
}

pub struct JoinFacts<'a> {
    pub token: &'a str,
    pub discovery_token: &'a str,
    pub cert_key: &'a str,
}

pub fn c28(user: &str, lb: &str, new_node_ip: &str, facts: &JoinFacts<'_>) -> String {
    format!(
        r#"{IN_ARCHIVE}ansible-playbook -e "ansible_ssh_user={user}" -e "ansible_python_interpreter=/usr/bin/python3" -e "lb_address={lb}" -e "logstash_host=127.0.0.1" -e "master_token={}" -e "master_discovery_token={}" -e "master_cert_key={}" -e "copy_patch=true" -e "copy_ca=true"{} -i "{new_node_ip}," ansible/k8s-add-node.yaml"#,
        facts.token,
        facts.discovery_token,
        facts.cert_key,
        become_flag(user)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c16_carries_the_guides_overlay_list() {
        let cmd = c16("root", &initial_overlays(Flavor::Dr));
        assert!(cmd.ends_with(
            r#"ansible-playbook -e "ansible_ssh_user=root" -e '{"overlay_list": ["overlay/ha.yaml", "overlay/golden-image.yml", "overlay/distr-dr.yaml", "overlay/startup_reconfigure.yaml"]}' -e "copy_patch=true" -e "copy_ca=true" -i ha_env_file ansible/ha-acura.yaml"#
        ));
        assert!(c16("acura", &initial_overlays(Flavor::Migration)).contains("distr-migration.yaml"));
        assert!(c16("acura", &[]).contains(" -K -i ha_env_file"));
    }

    #[test]
    fn c24_and_c25_use_the_etcd_peer_certificates() {
        assert_eq!(
            c24("node-1"),
            "kubectl exec etcd-node-1 -n kube-system -- etcdctl --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/peer.crt --key /etc/kubernetes/pki/etcd/peer.key member list"
        );
        assert!(c25("node-1", "60a0d077eb0db20f").ends_with("member remove 60a0d077eb0db20f"));
    }

    #[test]
    fn ha_env_file_has_one_line_per_node() {
        let text = ha_env_file(
            &[
                ("node-1".into(), "10.0.0.11".into()),
                ("node-2".into(), "10.0.0.12".into()),
            ],
            "/root/.ssh/id_ed25519",
        );
        assert_eq!(
            text,
            "node-1 ansible_ssh_host=10.0.0.11 ansible_ssh_private_key_file=/root/.ssh/id_ed25519\n\
             node-2 ansible_ssh_host=10.0.0.12 ansible_ssh_private_key_file=/root/.ssh/id_ed25519\n"
        );
    }
}
