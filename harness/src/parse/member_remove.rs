//! C25 `etcdctl member remove <id>`: `Member <id> removed from cluster <id>`. etcdctl pads
//! both ids to 16 columns with spaces, so a short id leaves a double space.

use super::error::{numbered_lines, ParseError};
use super::member_list::{is_client_log, MemberId};

const COMMAND: &str = "etcdctl member remove";
const EXPECTED: &str = "\"Member <id> removed from cluster <id>\"";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberRemoved {
    pub member: MemberId,
    pub cluster: MemberId,
}

pub fn parse(output: &str) -> Result<MemberRemoved, ParseError> {
    let mut last = None;
    for (number, line) in numbered_lines(output).filter(|(_, l)| !is_client_log(l)) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["Member", member, "removed", "from", "cluster", cluster] = words[..] {
            return match (MemberId::parse(member), MemberId::parse(cluster)) {
                (Some(member), Some(cluster)) => Ok(MemberRemoved { member, cluster }),
                _ => Err(ParseError::at(
                    COMMAND,
                    "hexadecimal member and cluster ids",
                    number,
                    line,
                )),
            };
        }
        last = Some((number, line));
    }
    Err(match last {
        Some((number, line)) => ParseError::at(COMMAND, EXPECTED, number, line),
        None => ParseError::end(COMMAND, EXPECTED),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::error::Found;
    use proptest::prelude::*;

    #[test]
    fn the_procedures_line() {
        let r = parse("Member 60a0d077eb0db20f removed from cluster f1c6e6ee71e931c3\n").unwrap();
        assert_eq!(r.member, MemberId(0x60a0d077eb0db20f));
        assert_eq!(r.cluster, MemberId(0xf1c6e6ee71e931c3));
    }

    #[test]
    fn a_padded_cluster_id() {
        let out = include_str!("../../../fixtures/outputs/etcdctl/member-remove.txt");
        let r = parse(out).unwrap();
        assert_eq!(r.member.to_string(), "ddc5ae7383143033");
        assert_eq!(r.cluster.to_string(), "48276a8f75b6a87");
    }

    #[test]
    fn an_unknown_member_is_etcdctls_error_line() {
        let out = include_str!("../../../fixtures/outputs/etcdctl/member-remove-not-found.txt");
        assert_eq!(
            parse(out).unwrap_err().found,
            Found::Line {
                number: 2,
                text: "Error: etcdserver: member not found".into()
            }
        );
        assert_eq!(parse("").unwrap_err().found, Found::EndOfOutput);
    }

    proptest! {
        #[test]
        fn printed_lines_parse_back(member in any::<u64>(), cluster in any::<u64>()) {
            let out = format!("Member {member:16x} removed from cluster {cluster:16x}\n");
            let r = parse(&out).unwrap();
            prop_assert_eq!(r, MemberRemoved { member: MemberId(member), cluster: MemberId(cluster) });
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }
    }
}
