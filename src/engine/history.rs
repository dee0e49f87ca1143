//! The tamper-evident history: every event carries the hash of the one before it and its own.
//!
//! An event's hash is SHA-256 over a canonical encoding of its fields (everything but the
//! hash itself): JSON with object keys sorted by their bytes, no insignificant whitespace,
//! times as integer microseconds since the Unix epoch. The first event links to `GENESIS` and
//! also covers what the instance is: its workflow and version, its parties, its reference
//! date and its case. Changing any field of any event, rebinding a party, or removing or
//! reordering events, breaks the chain.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The `prev_hash` of an instance's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Version of the canonical encoding, hashed with every event.
const ENCODING: u32 = 1;

/// The fields of an event that its hash covers.
#[derive(Debug, Clone, Serialize)]
pub struct EventBody<'a> {
    pub instance_id: &'a str,
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_sub: &'a str,
    pub actor_name: &'a str,
    pub actor_agency: &'a str,
    pub actor_role: &'a str,
    pub transition: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: &'a str,
    pub data: &'a Value,
    pub comment: Option<&'a str>,
    pub prev_hash: &'a str,
    /// The first event only: what the instance is (see `instance_identity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<&'a Value>,
}

impl EventBody<'_> {
    /// The hex SHA-256 of the canonical encoding.
    pub fn hash(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("encoding".into(), Value::from(ENCODING));
        }
        let mut bytes = Vec::with_capacity(1024);
        canonical_bytes(&value, &mut bytes);
        hex::encode(Sha256::digest(&bytes))
    }
}

/// Writes `value` as JSON with object keys sorted, whatever order the map keeps them in.
pub fn canonical_json(value: &Value, out: &mut String) {
    let mut bytes = std::mem::take(out).into_bytes();
    canonical_bytes(value, &mut bytes);
    // Only whole strings and ASCII punctuation were appended to what was UTF-8.
    *out = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

/// [`canonical_json`] as bytes. Keys and scalars are written by serde_json, as `to_string`
/// writes them, straight into the buffer.
fn canonical_bytes(value: &Value, out: &mut Vec<u8>) {
    // Writing JSON into a Vec cannot fail.
    fn scalar<T: Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, v);
    }
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                scalar(key, out);
                out.push(b':');
                canonical_bytes(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_bytes(item, out);
            }
            out.push(b']');
        }
        other => scalar(other, out),
    }
}

/// The outcome of checking an instance's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Verification {
    /// True when every link holds and the instance's head matches the last event.
    pub valid: bool,
    pub events: usize,
    /// The sequence number of the first event that does not verify.
    pub first_broken_seq: Option<i64>,
    pub reason: Option<String>,
    /// The hash of the last event.
    pub head_hash: Option<String>,
}

/// One stored event as the verifier sees it: its body and the hash stored with it.
pub struct StoredEvent<'a> {
    pub body: EventBody<'a>,
    pub hash: &'a str,
}

/// What the instance row says its history ends with.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    pub hash: &'a str,
    pub state: &'a str,
    /// The instance's version, which equals its number of events.
    pub version: i64,
}

/// Walks the chain in order, then checks that it ends where the instance row says it does.
pub fn verify<'a>(events: impl IntoIterator<Item = StoredEvent<'a>>, head: Head<'_>) -> Verification {
    let mut prev = GENESIS.to_owned();
    let mut last_state = None;
    let mut count = 0usize;
    let broken = |seq: i64, count: usize, reason: String| Verification {
        valid: false,
        events: count,
        first_broken_seq: Some(seq),
        reason: Some(reason),
        head_hash: None,
    };
    for (i, e) in events.into_iter().enumerate() {
        count += 1;
        let expected_seq = i as i64 + 1;
        if e.body.seq != expected_seq {
            return broken(e.body.seq, count, format!("expected event {expected_seq}, found {}", e.body.seq));
        }
        if e.body.prev_hash != prev {
            return broken(e.body.seq, count, "does not link to the event before it".into());
        }
        if e.body.hash() != e.hash {
            return broken(e.body.seq, count, "its content does not match its hash".into());
        }
        prev = e.hash.to_owned();
        last_state = Some(e.body.to_state);
    }
    let next = count as i64 + 1;
    if prev != head.hash {
        return broken(next, count, "the instance's last hash is not the last event's".into());
    }
    if last_state != Some(head.state) {
        return broken(
            next,
            count,
            format!("the instance is in state {:?}, but its history ends in {last_state:?}", head.state),
        );
    }
    if head.version != count as i64 {
        return broken(
            next,
            count,
            format!("the instance is at version {}, but has {count} events", head.version),
        );
    }
    Verification { valid: true, events: count, first_broken_seq: None, reason: None, head_hash: Some(prev) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body<'a>(seq: i64, data: &'a Value, prev: &'a str) -> EventBody<'a> {
        EventBody {
            instance_id: "i",
            seq,
            occurred_at: 1_700_000_000_000_000,
            actor_sub: "u",
            actor_name: "Nguyễn Văn A",
            actor_agency: "TAND-HN",
            actor_role: "court_liaison",
            transition: "t",
            from_state: None,
            to_state: "s",
            data,
            comment: None,
            prev_hash: prev,
            instance: None,
        }
    }

    #[test]
    fn canonical_form_sorts_keys() {
        let mut a = String::new();
        canonical_json(&json!({"b": 1, "a": {"d": [1, "x"], "c": null}}), &mut a);
        assert_eq!(a, r#"{"a":{"c":null,"d":[1,"x"]},"b":1}"#);
    }

    /// The encoding of the chains already stored: keys and scalars as `Value::to_string`
    /// writes them. Any change here would break every history on record.
    #[test]
    fn canonical_form_is_the_encoding_on_record() {
        fn on_record(value: &Value, out: &mut String) {
            match value {
                Value::Object(map) => {
                    let mut keys: Vec<&String> = map.keys().collect();
                    keys.sort();
                    out.push('{');
                    for (i, key) in keys.into_iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(&Value::String(key.clone()).to_string());
                        out.push(':');
                        on_record(&map[key], out);
                    }
                    out.push('}');
                }
                Value::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        on_record(item, out);
                    }
                    out.push(']');
                }
                scalar => out.push_str(&scalar.to_string()),
            }
        }
        let value = json!({
            "tên \"đương sự\"": "Nguyễn Thị Ánh\n\t\u{1}\u{7f}\u{2028}/\\",
            "số tiền": "1302149296000.50",
            "n": [0, -1, 1.5, 1e300, 18446744073709551615u64, -9223372036854775808i64, true, false, null],
            "z": {"": [], "a": {}, "ý kiến": [{"b": "x", "a": "y"}]},
        });
        let (mut now, mut before) = (String::new(), String::new());
        canonical_json(&value, &mut now);
        on_record(&value, &mut before);
        assert_eq!(now, before);
        let d = json!({"nested": value});
        let b = body(3, &d, GENESIS);
        let mut before = serde_json::to_value(&b).unwrap();
        before.as_object_mut().unwrap().insert("encoding".into(), Value::from(ENCODING));
        let mut text = String::new();
        on_record(&before, &mut text);
        assert_eq!(b.hash(), hex::encode(Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn chain_verifies_and_detects_tampering() {
        let d1 = json!({"amount": "1302149296000"});
        let d2 = json!({});
        let h1 = body(1, &d1, GENESIS).hash();
        let h2 = body(2, &d2, &h1).hash();
        fn chain<'a>(first: &'a Value, second: &'a Value, h1: &'a str, h2: &'a str) -> Vec<StoredEvent<'a>> {
            vec![
                StoredEvent { body: body(1, first, GENESIS), hash: h1 },
                StoredEvent { body: body(2, second, h1), hash: h2 },
            ]
        }
        let head = Head { hash: &h2, state: "s", version: 2 };
        assert!(verify(chain(&d1, &d2, &h1, &h2), head).valid);

        let forged = json!({"amount": "1"});
        assert_eq!(verify(chain(&forged, &d2, &h1, &h2), head).first_broken_seq, Some(1));

        let truncated = verify(chain(&d1, &d2, &h1, &h2).into_iter().take(1), head);
        assert_eq!(truncated.first_broken_seq, Some(2));

        // The row moved on without an event, or its version was rewound.
        let moved = Head { state: "other", ..head };
        assert!(!verify(chain(&d1, &d2, &h1, &h2), moved).valid);
        let rewound = Head { version: 3, ..head };
        assert!(!verify(chain(&d1, &d2, &h1, &h2), rewound).valid);
    }
}
