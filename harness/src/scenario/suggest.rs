//! "Did you mean …?" for misspelt keys, step keywords and host names.

/// The candidate closest to `given`, if it is close enough to be what the author meant.
///
/// `_` and `-` count as the same character: step keywords are kebab-case while the keys inside
/// a step are snake_case, and mixing the two up is the most common slip.
pub(crate) fn closest<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given = normalize(given);
    candidates
        .into_iter()
        .filter(|candidate| !candidate.is_empty())
        .map(|candidate| {
            (
                strsim::levenshtein(&given, &normalize(candidate)),
                candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= threshold(candidate))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn normalize(word: &str) -> String {
    word.to_lowercase().replace('_', "-")
}

/// About one edit in three characters, and always one: enough for typos and a missing
/// separator, not so much that `lb` suggests `dns`.
fn threshold(candidate: &str) -> usize {
    (candidate.chars().count() / 3).max(1)
}

#[cfg(test)]
mod tests {
    use super::closest;

    const STEPS: [&str; 5] = [
        "preflight",
        "configure-lb",
        "checkpoint",
        "remove-dead-node",
        "join-node",
    ];

    #[test]
    fn suggests_the_nearest_keyword() {
        assert_eq!(closest("chekpoint", STEPS), Some("checkpoint"));
        assert_eq!(closest("preflite", STEPS), Some("preflight"));
        assert_eq!(closest("configure_lb", STEPS), Some("configure-lb"));
        assert_eq!(closest("Join-Node", STEPS), Some("join-node"));
    }

    #[test]
    fn stays_silent_when_nothing_is_close() {
        assert_eq!(closest("reboot", STEPS), None);
        assert_eq!(closest("", STEPS), None);
        assert_eq!(closest("x", ["lb", "dns"]), None);
    }

    #[test]
    fn separators_alone_are_the_closest_match() {
        assert_eq!(
            closest("power-off", ["pause", "power_off"]),
            Some("power_off")
        );
    }
}
