//! kubectl's human-readable tables: a header of column names and rows aligned under it by a
//! tab writer (three spaces of padding). Cells may hold single spaces (`3 (2m ago)` under
//! RESTARTS, `Ubuntu 24.04 LTS` under OS-IMAGE) and so may headers (`NOMINATED NODE`), so rows
//! are cut at the header's column offsets; splitting on whitespace is only the fallback for
//! rows that are not aligned (output retyped by hand, or squeezed by a terminal).

use super::error::{numbered_lines, ParseError};

pub(crate) struct Table<'a> {
    pub columns: Vec<&'a str>,
    pub rows: Vec<Row<'a>>,
}

pub(crate) struct Row<'a> {
    pub number: usize,
    pub line: &'a str,
    pub cells: Vec<&'a str>,
}

/// What kubectl prints (to stderr) instead of a table when nothing matches.
const NO_RESOURCES: &str = "No resources found";

impl<'a> Table<'a> {
    /// Parse `output`, insisting on the `required` columns. An output that is empty or says
    /// "No resources found" is an empty table.
    pub fn parse(
        command: &'static str,
        output: &'a str,
        required: &[&str],
    ) -> Result<Table<'a>, ParseError> {
        let mut lines = numbered_lines(output);
        let Some((header_number, header)) = lines.next() else {
            return Ok(Table {
                columns: Vec::new(),
                rows: Vec::new(),
            });
        };
        if header.trim_start().starts_with(NO_RESOURCES) {
            return Ok(Table {
                columns: Vec::new(),
                rows: Vec::new(),
            });
        }
        let starts = column_starts(header);
        let columns: Vec<&str> = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = starts.get(i + 1).copied().unwrap_or(header.len());
                header[start..end].trim()
            })
            .collect();
        if let Some(missing) = required.iter().find(|r| !columns.contains(r)) {
            return Err(ParseError::at(
                command,
                format!(
                    "a header with the columns {} (no {missing})",
                    required.join(", ")
                ),
                header_number,
                header,
            ));
        }
        let mut rows = Vec::new();
        for (number, line) in lines {
            let cells = cut(line, &starts)
                .or_else(|| {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    (words.len() == starts.len()).then_some(words)
                })
                .ok_or_else(|| {
                    ParseError::at(
                        command,
                        format!(
                            "a row with {} cells under {}",
                            columns.len(),
                            columns.join(", ")
                        ),
                        number,
                        line,
                    )
                })?;
            rows.push(Row {
                number,
                line,
                cells,
            });
        }
        Ok(Table { columns, rows })
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name)
    }
}

/// Byte offsets where header columns begin: the first non-space, and every non-space after a
/// run of two or more spaces.
fn column_starts(header: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut spaces = usize::MAX; // the line start counts as a separator
    for (i, c) in header.char_indices() {
        if c == ' ' || c == '\t' {
            spaces = spaces.saturating_add(1);
        } else {
            if spaces >= 2 {
                starts.push(i);
            }
            spaces = 0;
        }
    }
    starts
}

/// Cut an aligned row at the column offsets, or `None` when it is not aligned.
fn cut<'a>(line: &'a str, starts: &[usize]) -> Option<Vec<&'a str>> {
    let bytes = line.as_bytes();
    let mut cells = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .copied()
            .unwrap_or(line.len())
            .min(line.len());
        if start >= line.len() || !line.is_char_boundary(start) || !line.is_char_boundary(end) {
            return None;
        }
        // A cell starts exactly under its header, after the previous cell's padding.
        if bytes[start] == b' ' || (start > 0 && bytes[start - 1] != b' ') {
            return None;
        }
        if i == 0 && line[..start].chars().any(|c| c != ' ') {
            return None;
        }
        let cell = line[start..end].trim();
        if cell.is_empty() {
            return None;
        }
        cells.push(cell);
    }
    Some(cells)
}

/// kubectl's layout, for tests that feed parsers their own rendering.
#[cfg(test)]
pub(crate) fn render(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i] - cell.chars().count() + 3;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(columns.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WIDE: &str = "\
NAME          STATUS     ROLES           AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE           KERNEL-VERSION     CONTAINER-RUNTIME
k8s-master1   Ready      control-plane   28m   v1.29.3   10.213.7.11   <none>        Ubuntu 24.04 LTS   6.8.0-31-generic   containerd://1.7.12
";

    #[test]
    fn cells_with_spaces_stay_whole() {
        let t = Table::parse("kubectl get nodes", WIDE, &["NAME", "OS-IMAGE"]).unwrap();
        let os = t.column("OS-IMAGE").unwrap();
        assert_eq!(t.rows[0].cells[os], "Ubuntu 24.04 LTS");
        assert_eq!(t.rows[0].cells.len(), 10);
    }

    #[test]
    fn unaligned_rows_fall_back_to_words() {
        let t = Table::parse("kubectl get nodes", "NAME  STATUS\nnode-1 Ready\n", &[]).unwrap();
        assert_eq!(t.rows[0].cells, vec!["node-1", "Ready"]);
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = Table::parse(
            "kubectl get nodes",
            "NAME   AGE\nn   1d\n",
            &["NAME", "STATUS"],
        )
        .err()
        .unwrap();
        assert!(e.expected.contains("no STATUS"), "{e}");
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9<>/().:,-]{1,12}"
    }

    fn cell() -> impl Strategy<Value = String> {
        prop::collection::vec(word(), 1..4).prop_map(|w| w.join(" "))
    }

    proptest! {
        #[test]
        fn rendered_tables_parse_back(
            columns in prop::collection::vec("[A-Z]{1,8}( [A-Z]{1,6})?", 1..7),
            seed in prop::collection::vec(prop::collection::vec(cell(), 7), 0..6),
        ) {
            let rows: Vec<Vec<String>> =
                seed.into_iter().map(|r| r[..columns.len()].to_vec()).collect();
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            let text = render(&names, &rows);
            let t = Table::parse("kubectl get", &text, &[]).unwrap();
            prop_assert_eq!(&t.columns, &names);
            let parsed: Vec<Vec<String>> = t
                .rows
                .iter()
                .map(|r| r.cells.iter().map(|c| c.to_string()).collect())
                .collect();
            prop_assert_eq!(parsed, rows);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = Table::parse("kubectl get", &text, &["NAME"]);
        }

        #[test]
        fn arbitrary_lines_of_table_alphabet_never_panic(
            lines in prop::collection::vec("[ A-Za-z0-9/é\t-]{0,40}", 0..8)
        ) {
            let _ = Table::parse("kubectl get", &lines.join("\n"), &[]);
        }
    }
}
