//! C24 `etcdctl member list` (v3 API, simple format): one member per line,
//! `ID, status, name, peerURLs, clientURLs, isLearner`. etcdctl joins the fields with ", " and
//! several URLs of one field with a bare ",", which is what keeps them apart.

use std::fmt;

use super::error::{numbered_lines, ParseError};

const COMMAND: &str = "etcdctl member list";
const EXPECTED: &str =
    "a member \"<id>, <started|unstarted>, <name>, <peer urls>, <client urls>, <is learner>\"";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub status: MemberStatus,
    /// Empty until the member has started (etcd learns the name from the member itself).
    pub name: String,
    pub peer_urls: Vec<String>,
    /// Empty until the member has started.
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

/// etcd's 64-bit member (or cluster) id, printed in hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId(pub u64);

impl MemberId {
    pub fn parse(text: &str) -> Option<MemberId> {
        if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(MemberId)
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    Started,
    /// Added with `member add` but not yet joined: C28's new node before its etcd starts.
    Unstarted,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Started => "started",
            MemberStatus::Unstarted => "unstarted",
        }
    }
}

pub fn parse(output: &str) -> Result<Vec<Member>, ParseError> {
    numbered_lines(output)
        .filter(|(_, line)| !is_client_log(line))
        .map(|(number, line)| {
            parse_member(line.trim()).ok_or_else(|| ParseError::at(COMMAND, EXPECTED, number, line))
        })
        .collect()
}

/// etcd's client logs retries as JSON on stderr, which a merged capture interleaves.
pub(crate) fn is_client_log(line: &str) -> bool {
    line.starts_with("{\"level\":")
}

fn parse_member(line: &str) -> Option<Member> {
    let fields: Vec<&str> = line.split(", ").collect();
    // etcdctl before 3.4 had no isLearner column.
    let (id, status, name, peers, clients, learner) = match fields[..] {
        [id, status, name, peers, clients, learner] => {
            (id, status, name, peers, clients, Some(learner))
        }
        [id, status, name, peers, clients] => (id, status, name, peers, clients, None),
        _ => return None,
    };
    let status = match status.trim() {
        "started" => MemberStatus::Started,
        "unstarted" => MemberStatus::Unstarted,
        _ => return None,
    };
    let is_learner = match learner.map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return None,
    };
    let peer_urls = urls(peers)?;
    if peer_urls.is_empty() {
        return None;
    }
    Some(Member {
        id: MemberId::parse(id.trim())?,
        status,
        name: name.trim().to_owned(),
        peer_urls,
        client_urls: urls(clients)?,
        is_learner,
    })
}

fn urls(field: &str) -> Option<Vec<String>> {
    field
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| (u.contains("://") && !u.contains(' ')).then(|| u.to_owned()))
        .collect()
}

impl Member {
    /// The line as etcdctl prints it.
    pub fn to_line(&self) -> String {
        format!(
            "{}, {}, {}, {}, {}, {}",
            self.id,
            self.status.as_str(),
            self.name,
            self.peer_urls.join(","),
            self.client_urls.join(","),
            self.is_learner
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::error::Found;
    use proptest::prelude::*;

    #[test]
    fn the_procedures_line() {
        let out = include_str!("../../../fixtures/outputs/etcdctl/member-list-procedure.txt");
        let members = parse(out).unwrap();
        assert_eq!(
            members,
            vec![Member {
                id: MemberId(0x47277be6b1919f44),
                status: MemberStatus::Started,
                name: "master01".into(),
                peer_urls: vec!["https://188.8.5.61:2380".into()],
                client_urls: vec!["https://188.8.5.61:2379".into()],
                is_learner: false,
            }]
        );
        assert_eq!(members[0].to_line(), out.trim_end());
    }

    #[test]
    fn three_started_members() {
        let out = include_str!("../../../fixtures/outputs/etcdctl/member-list.txt");
        let members = parse(out).unwrap();
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["node-1", "node-2", "node-3"]);
        assert_eq!(members[1].id.to_string(), "8e9e05c52164694d");
    }

    #[test]
    fn several_urls_and_an_unstarted_learner() {
        let out =
            include_str!("../../../fixtures/outputs/etcdctl/member-list-multi-url-unstarted.txt");
        let members = parse(out).unwrap();
        assert_eq!(
            members[0].client_urls,
            ["https://10.213.7.11:2379", "https://127.0.0.1:2379"]
        );
        let new = &members[1];
        assert_eq!(new.status, MemberStatus::Unstarted);
        assert_eq!(new.name, "");
        assert!(new.client_urls.is_empty());
        assert!(new.is_learner);
        assert_eq!(new.peer_urls, ["https://10.213.7.12:2380"]);
    }

    #[test]
    fn old_etcdctl_without_the_learner_column() {
        let m = parse("8e9e05c52164694d, started, node-2, https://10.213.7.12:2380, https://10.213.7.12:2379\n")
            .unwrap();
        assert!(!m[0].is_learner);
    }

    #[test]
    fn an_etcdctl_error_is_the_offending_line() {
        let out = "{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\"}\nError: context deadline exceeded\n";
        let e = parse(out).unwrap_err();
        assert_eq!(
            e.found,
            Found::Line {
                number: 2,
                text: "Error: context deadline exceeded".into()
            }
        );
        assert_eq!(parse("").unwrap(), vec![]);
    }

    fn member() -> impl Strategy<Value = Member> {
        let url = "https?://[a-z0-9.-]{1,15}:[0-9]{1,5}";
        (
            any::<u64>(),
            any::<bool>(),
            "[a-z0-9][a-z0-9.-]{0,20}",
            prop::collection::vec(url, 1..3),
            prop::collection::vec(url, 0..3),
            any::<bool>(),
        )
            .prop_map(
                |(id, started, name, peer_urls, client_urls, is_learner)| Member {
                    id: MemberId(id),
                    status: if started {
                        MemberStatus::Started
                    } else {
                        MemberStatus::Unstarted
                    },
                    name,
                    peer_urls,
                    client_urls,
                    is_learner,
                },
            )
    }

    proptest! {
        #[test]
        fn printed_members_parse_back(members in prop::collection::vec(member(), 0..6)) {
            let out: String = members.iter().map(|m| m.to_line() + "\n").collect();
            prop_assert_eq!(parse(&out).unwrap(), members);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_fields_never_panic(fields in prop::collection::vec("[ -~]{0,12}", 0..8)) {
            let _ = parse(&fields.join(", "));
        }
    }
}
