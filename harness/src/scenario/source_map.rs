//! Where each key and value of a scenario file sits in its text.
//!
//! The typed model carries no positions, so the file is read a second time into an untyped
//! tree of spanned nodes. Validation looks up the position of a field by its path, and the
//! loader takes every step's line from here.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// A 1-based line and column (in characters) inside a scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };

    /// `None` for the parser's "unknown location" (line 0).
    pub(crate) fn from_location(location: Location) -> Option<Position> {
        let line = usize::try_from(location.line()).ok()?;
        let column = usize::try_from(location.column()).ok()?;
        (line > 0 && column > 0).then_some(Position { line, column })
    }
}

/// One step of a path into the document: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path such as `steps[3].fault.power_off`, as diagnostics show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        FieldPath(segments)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        FieldPath(segments)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn last(&self) -> Option<&Segment> {
        self.0.last()
    }

    pub fn parent(&self) -> FieldPath {
        FieldPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// The untyped, spanned tree of one YAML document.
pub(crate) struct SourceMap {
    root: Spanned<Node>,
}

enum Node {
    /// The scalar's text when it can be read as one (strings, numbers, booleans; `None` for null).
    Scalar(Option<String>),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Key>, Spanned<Node>)>),
}

/// A mapping key. Scenario files only have scalar keys; anything else is kept as `None`
/// so that an odd key does not stop the positions of the rest from being known.
struct Key(Option<String>);

impl SourceMap {
    /// Fails when the text is not one well-formed YAML document.
    pub(crate) fn parse(text: &str) -> Result<SourceMap, serde_saphyr::Error> {
        let options = serde_saphyr::options! {
            with_snippet: false,
        };
        serde_saphyr::from_str_with_options::<Spanned<Node>>(text, options)
            .map(|root| SourceMap { root })
    }

    fn node(&self, path: &FieldPath) -> Option<&Spanned<Node>> {
        let mut node = &self.root;
        for segment in path.segments() {
            node = match (&node.value, segment) {
                (Node::Map(entries), Segment::Key(key)) => entries
                    .iter()
                    .rev()
                    .find(|(k, _)| k.value.0.as_deref() == Some(key.as_str()))
                    .map(|(_, v)| v)?,
                (Node::Seq(items), Segment::Index(index)) => items.get(*index)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Where the value at `path` starts.
    pub(crate) fn value(&self, path: &FieldPath) -> Option<Position> {
        self.node(path)
            .and_then(|node| Position::from_location(node.referenced))
    }

    /// Where the key of the last segment of `path` is written; for an index, the item itself.
    pub(crate) fn key(&self, path: &FieldPath) -> Option<Position> {
        let last = path.last()?;
        let parent = self.node(&path.parent())?;
        match (&parent.value, last) {
            (Node::Map(entries), Segment::Key(key)) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.value.0.as_deref() == Some(key.as_str()))
                .and_then(|(k, _)| Position::from_location(k.referenced)),
            (Node::Seq(items), Segment::Index(index)) => items
                .get(*index)
                .and_then(|item| Position::from_location(item.referenced)),
            _ => None,
        }
    }

    /// The key if `path` names a mapping entry, else the value: what a caret should point at
    /// when the whole entry is wrong.
    pub(crate) fn entry(&self, path: &FieldPath) -> Option<Position> {
        self.key(path).or_else(|| self.value(path))
    }

    /// The text of the scalar at `path`, if it is a scalar.
    pub(crate) fn scalar(&self, path: &FieldPath) -> Option<&str> {
        match &self.node(path)?.value {
            Node::Scalar(text) => text.as_deref(),
            _ => None,
        }
    }

    /// The number of items of the sequence at `path`.
    pub(crate) fn len(&self, path: &FieldPath) -> Option<usize> {
        match &self.node(path)?.value {
            Node::Seq(items) => Some(items.len()),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(Some(v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(Some(v.to_string())))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(Some(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(Some(v.to_string())))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Scalar(Some(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(Some(v.to_string())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Some(v.to_owned())))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
        Ok(Key(Some(v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
        Ok(Key(Some(v.to_string())))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Key, E> {
        Ok(Key(Some(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
        Ok(Key(Some(v.to_string())))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Key, E> {
        Ok(Key(Some(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
        Ok(Key(Some(v.to_string())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key(Some(v.to_owned())))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Key, E> {
        Ok(Key(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        Key::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Key, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Key(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Key(None))
    }
}
