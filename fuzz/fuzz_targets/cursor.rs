//! Cursors: any text a client sends back as `cursor=`. Must never panic; what decodes re-encodes to itself.
#![no_main]

use hoc_contracts::paging::Cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(cursor) = Cursor::decode(text) {
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }
});
