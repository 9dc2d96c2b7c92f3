use super::*;

fn fields(source: SignatureSource<'_>) -> (String, String) {
    let s = sign_current(&source);
    (encode_v1(&s.inputs), s.signature)
}

#[test]
fn message_normalisation() {
    let cases = [
        (
            "  Connection  REFUSED\tto 10.0.0.12:5432 ",
            "connection refused to <n>.<n>.<n>.<n>:<n>",
        ),
        (
            "order 3f2b8c4e-1a2b-4c3d-9e8f-0123456789ab failed",
            "order <uuid> failed",
        ),
        (
            "segfault at 0x7ffd5e8a1b20 in worker 7",
            "segfault at <hex> in worker <n>",
        ),
        ("commit deadbeef12 not found", "commit <hex> not found"),
        (
            "deadbeef is a word, cafe too",
            "deadbeef is a word, cafe too",
        ),
        (
            "timeout after 30s (retry 3/5)",
            "timeout after <n>s (retry <n>/<n>)",
        ),
        ("Überlast: 503", "überlast: <n>"),
        (
            "x3f2b8c4e-1a2b-4c3d-9e8f-0123456789ab",
            "x<n>f<n>b<n>c<n>e-<n>a<n>b-<n>c<n>d-<n>e<n>f-<hex>",
        ),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(normalize_message(input), expected, "{input:?}");
    }
}

#[test]
fn same_failure_with_different_ids_shares_a_signature() {
    let a = sign_current(&SignatureSource {
        category: "Database",
        error_code: Some(" PG-53300 "),
        error_message: Some("too many clients for user 4821 (pid 0x1f3a)"),
        ..SignatureSource::default()
    });
    let b = sign_current(&SignatureSource {
        category: "database",
        error_code: Some("pg-53300"),
        error_message: Some("Too many  clients for user 77 (pid 0xabc)"),
        ..SignatureSource::default()
    });
    assert_eq!(a.signature, b.signature);
    assert_eq!(a.version, "rsig-v1");
    let c = sign_current(&SignatureSource {
        category: "database",
        error_code: Some("pg-53301"),
        ..SignatureSource::default()
    });
    assert_ne!(a.signature, c.signature);
}

#[test]
fn length_prefixes_keep_field_boundaries() {
    // Moving text between adjacent fields must change the signature.
    let a = sign_current(&SignatureSource {
        category: "ab",
        error_code: Some("c"),
        ..SignatureSource::default()
    });
    let b = sign_current(&SignatureSource {
        category: "a",
        error_code: Some("bc"),
        ..SignatureSource::default()
    });
    assert_ne!(a.signature, b.signature);
    // A fingerprint never collides with the field mode, even with the same text.
    let fp = ["database".to_owned()];
    let f = sign_current(&SignatureSource {
        category: "database",
        fingerprint: Some(&fp),
        ..SignatureSource::default()
    });
    let g = sign_current(&SignatureSource {
        category: "database",
        ..SignatureSource::default()
    });
    assert_ne!(f.signature, g.signature);
    assert_eq!(f.inputs.mode, "fingerprint");
}

/// Golden vectors: these exact bytes and hashes are `rsig-v1` forever. The hashes were computed
/// independently from the documented encoding (`printf '%s' "$encoding" | sha256sum`).
#[test]
fn golden_vectors_v1() {
    let fp = ["checkout".to_owned(), "  EU-West ".to_owned()];
    let vectors = [
        (
            SignatureSource {
                category: "database",
                ..SignatureSource::default()
            },
            "rsig-v1\n4:mode=6:fields\n8:category=8:database\n10:error_code=0:\n12:trigger_type=0:\n11:source_type=0:\n13:error_message=0:",
            GOLDEN[0],
        ),
        (
            SignatureSource {
                category: " Database ",
                error_code: Some("PG-53300"),
                trigger_type: Some("Alert"),
                source_type: Some("Prometheus"),
                error_message: Some(
                    "Too many clients: 101 of 100 (pid 0x1f3a) on 3f2b8c4e-1a2b-4c3d-9e8f-0123456789ab",
                ),
                title: "",
                fingerprint: None,
            },
            "rsig-v1\n4:mode=6:fields\n8:category=8:database\n10:error_code=8:pg-53300\n12:trigger_type=5:alert\n11:source_type=10:prometheus\n13:error_message=50:too many clients: <n> of <n> (pid <hex>) on <uuid>",
            GOLDEN[1],
        ),
        (
            SignatureSource {
                category: "ignored",
                fingerprint: Some(&fp),
                ..SignatureSource::default()
            },
            "rsig-v1\n4:mode=11:fingerprint\n11:fingerprint=8:checkout\n11:fingerprint=7:EU-West",
            GOLDEN[2],
        ),
        (
            SignatureSource {
                category: "réseau",
                error_message: Some("Délai dépassé"),
                ..SignatureSource::default()
            },
            "rsig-v1\n4:mode=6:fields\n8:category=7:réseau\n10:error_code=0:\n12:trigger_type=0:\n11:source_type=0:\n13:error_message=16:délai dépassé",
            GOLDEN[3],
        ),
    ];
    for (source, encoding, signature) in vectors {
        assert_eq!(fields(source), (encoding.to_owned(), signature.to_owned()));
    }
}

/// Golden vectors of `rsig-v2`, one or more per masked token class and per mode: these exact encodings and
/// hashes are `rsig-v2` forever. The encodings were written by hand from the specification and the hashes
/// computed from them outside Rust (Python's `hashlib.sha256`); `docs/recurrence-signatures.md` lists the same.
#[test]
fn golden_vectors_v2() {
    #[allow(clippy::type_complexity)]
    let vectors: &[(
        &str,
        Option<&str>,
        Option<&str>,
        &str,
        Option<&[&str]>,
        &str,
        &str,
    )] = &[
        (
            "database",
            None,
            None,
            "Primary DB down",
            None,
            "rsig-v2\n4:mode=5:title\n8:category=8:database\n5:title=15:primary db down",
            "7339af661e512d1c6b62ee0edf1534e9e7043a01e3350863ac78c538bb798df8",
        ),
        (
            " Database ",
            Some("PG-53300"),
            Some("too many clients"),
            "x",
            None,
            "rsig-v2\n4:mode=4:code\n8:category=8:database\n10:error_code=8:pg-53300",
            "30023349c883f53729a227a95453a22f8f80532e180dbfe7121dd206d0882a90",
        ),
        (
            "network",
            Some("  "),
            Some("Connection refused to 10.0.0.12:5432"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:network\n13:error_message=30:connection refused to <ip>:<n>",
            "afd36267ed7077584151375556508751faaeed530c7bf3f4eee6cdad115c5a86",
        ),
        (
            "network",
            None,
            Some("dial tcp [2001:db8::1]:443: i/o timeout"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:network\n13:error_message=32:dial tcp [<ip>]:<n>: i/o timeout",
            "1673f42d9a0308c16e17674d2eacc570d59a37ee688530826aa7f337d53e934f",
        ),
        (
            "network",
            None,
            Some("no route to fe80::1ff:fe23:4567:890a"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:network\n13:error_message=16:no route to <ip>",
            "feaebe3bf9d30dfeee32a07aef265f4713d6ee1b240be15a0428c5c9b80ee471",
        ),
        (
            "network",
            None,
            Some("upstream db-3.prod.internal timed out after 30s"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:network\n13:error_message=42:upstream <host> timed out after <duration>",
            "604607b75e80bc8e808fa425b4150017e8a2eab86eda0a55a0bffa1cf3820242",
        ),
        (
            "payments",
            None,
            Some("POST api.stripe.com:443 reset by peer"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=8:payments\n13:error_message=29:post <host>:<n> reset by peer",
            "035daa9e7eea1ebe9dac364a9b43f76d949922ea70c31a8db245d28a3aa73b0a",
        ),
        (
            "app",
            None,
            Some("java.lang.NullPointerException at Foo.bar"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=41:java.lang.nullpointerexception at foo.bar",
            "b2e9989c8ee5ba94dd6ee84e614ed398d5bcbd544a81e68f1b17e053197875af",
        ),
        (
            "email",
            None,
            Some("Delivery to ops@example.com bounced"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=5:email\n13:error_message=27:delivery to <email> bounced",
            "5682917fc6f0bf75ea9ab0bec7494d6b94812157607fd7645fd77986efbd6ec9",
        ),
        (
            "storage",
            None,
            Some("open /var/lib/app/data.db: permission denied"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:storage\n13:error_message=30:open <path>: permission denied",
            "3ccab2b279d82aacb764dfa64cdde45c9764eda7f8231df95413d07160c0af59",
        ),
        (
            "storage",
            None,
            Some("cannot read ./conf/app.yaml"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:storage\n13:error_message=18:cannot read <path>",
            "9efaef6c48b6a6760213b283e6e838367d89441afde8881d178bfbf956085f61",
        ),
        (
            "storage",
            None,
            Some("cannot write C:\\Temp\\out.log"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:storage\n13:error_message=19:cannot write <path>",
            "97e3864e2018e8013b897ab2f45f3ef3ae4cdfa521fb0bf45548e17d3b56c55b",
        ),
        (
            "storage",
            None,
            Some("missing ~/.aws/credentials"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:storage\n13:error_message=14:missing <path>",
            "419e5aceed02f2931af421d7381b5ac8ab21e926fea8b7fe4c4cffe0f283d9a0",
        ),
        (
            "http",
            None,
            Some("GET https://api.example.com/v1/users?id=7 returned 503"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=4:http\n13:error_message=22:get <url> returned <n>",
            "8f56758330167ea26d4297f29b3cc2ca3701238315054577033685fe5d17382b",
        ),
        (
            "database",
            None,
            Some("relation \"orders_2024\" does not exist"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=8:database\n13:error_message=29:relation <str> does not exist",
            "17142f2d7966f5b2efe2c1c3daae0f74c149103ac43d3e9e3eb6695adc171caa",
        ),
        (
            "database",
            None,
            Some("Duplicate entry 'alice@x.io' for key 'users.email'"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=8:database\n13:error_message=35:duplicate entry <str> for key <str>",
            "b6c8c6cbb9395623df11b1a94cd2a3ae42741e0001ddd04741640c3b240ee73e",
        ),
        (
            "shell",
            None,
            Some("command `make deploy` failed"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=5:shell\n13:error_message=20:command <str> failed",
            "793034c10a2eaccedbc67829502cb4b94fdb41d62ad16304a727ea490d73e7a1",
        ),
        (
            "app",
            None,
            Some("order 3f2b8c4e-1a2b-4c3d-9e8f-0123456789ab not found"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=22:order <uuid> not found",
            "a53a5e467d905b53bd4c056f3493739c90b75d8876748952ecd5b6ff104a5b3d",
        ),
        (
            "app",
            None,
            Some("segfault at 0x7ffd5e8a1b20"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=17:segfault at <hex>",
            "0d7b0f1e4d5463bdbe2600824e5bc9d04294c49d43ca4da7599b36d1854312bf",
        ),
        (
            "deploy",
            None,
            Some("commit deadbeef12 not found"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=6:deploy\n13:error_message=22:commit <hex> not found",
            "247cb9edd467b1446d81fdb7efc2cdc9b01a759ca867f10ed68011965badc25d",
        ),
        (
            "jobs",
            None,
            Some("job took 1h30m15s"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=4:jobs\n13:error_message=19:job took <duration>",
            "ce271e9a863ab1dc3a9cfe7ed0ccb7d0b50650a474c95eeaf79ba018612df822",
        ),
        (
            "jobs",
            None,
            Some("lock held for 250 ms, retried after 5 minutes"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=4:jobs\n13:error_message=50:lock held for <duration>, retried after <duration>",
            "5d1c0234125c35f147ef32ab51e5196d7909df563cbef569952762afad2ce849",
        ),
        (
            "memory",
            None,
            Some("OOMKilled: requested 512MB, limit 2.5 GiB"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=6:memory\n13:error_message=41:oomkilled: requested <size>, limit <size>",
            "c613334e3abfa76feea4854dfe4375af9f0a4b5b5780b0730ec843f8b45bb8c9",
        ),
        (
            "memory",
            None,
            Some("heap at 1024 bytes over 64k"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=6:memory\n13:error_message=26:heap at <size> over <size>",
            "d53a7d7fd1033c56ffed71b6a16b79a36db7719704035b351b5de06278b8409c",
        ),
        (
            "app",
            None,
            Some("retry 3/5 failed (95%)"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=27:retry <n>/<n> failed (<n>%)",
            "987f8583a0b5f4b5c4a8ed91094d03faeee84bdad44444fa172bfc33dc2e2817",
        ),
        (
            "k8s",
            None,
            Some("pod checkout-7d9f-x2k4l crashed on worker7"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=3:k8s\n13:error_message=43:pod checkout-<id>-<id> crashed on worker<n>",
            "d22abe9bf87e8d18332d44641eb81e3feb3db1b0970eb76e8501a7abbb335ea2",
        ),
        (
            "app",
            None,
            Some("  Many\t\tSPACES  here "),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=16:many spaces here",
            "73dc138d9bc439bc0da4fd3aff333589912f50aa0b4e2093e41450e1a2c1d738",
        ),
        (
            "app",
            None,
            Some("at 12:30:45 on 2026-11-28"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=3:app\n13:error_message=29:at <n>:<n>:<n> on <n>-<n>-<n>",
            "3a2a7a4a0d2ddb6b5ab9979309f11099e4501807e84e046b4e8a031c342abb8d",
        ),
        (
            "réseau",
            None,
            Some("Délai dépassé après 30 secondes"),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=7:réseau\n13:error_message=36:délai dépassé après <n> secondes",
            "26b0ea13940b9317e764dcf62aa5db5fdcf60c7fb67f6dcb35c0d8ed772a1944",
        ),
        (
            "app",
            None,
            Some("   "),
            "Disk 93% full on node-12",
            None,
            "rsig-v2\n4:mode=5:title\n8:category=3:app\n5:title=26:disk <n>% full on node-<n>",
            "b9a24b7bb0234219f6b39eb0079f6365a39f26beacfa78a7a42ab7f1e901e759",
        ),
        (
            "app",
            Some("E42"),
            None,
            "",
            Some(&["checkout", "  EU-West "]),
            "rsig-v2\n4:mode=11:fingerprint\n11:fingerprint=8:checkout\n11:fingerprint=7:EU-West",
            "62cde26535ef91835486e8d533dd86581e91e61d7506d94c5e3bf54b789bb5f0",
        ),
        (
            "cache",
            None,
            Some("redis-cache.svc.cluster.local:6379 refused, key \"sess:9\""),
            "t",
            None,
            "rsig-v2\n4:mode=7:message\n8:category=5:cache\n13:error_message=29:<host>:<n> refused, key <str>",
            "ca14af98d044fc4c89d3b7e161cb4780c1724704ac145d46746288e71e9f1de5",
        ),
    ];
    assert!(vectors.len() >= 30);
    for (category, error_code, error_message, title, fingerprint, encoding, hash) in vectors {
        let fingerprint: Option<Vec<String>> =
            fingerprint.map(|items| items.iter().map(|s| (*s).to_owned()).collect());
        let signature = sign_with(
            &RsigV2,
            &SignatureSource {
                category,
                error_code: *error_code,
                error_message: *error_message,
                title,
                fingerprint: fingerprint.as_deref(),
                ..SignatureSource::default()
            },
        );
        assert_eq!(
            encode("rsig-v2", &signature.inputs),
            *encoding,
            "{error_message:?} {title:?}"
        );
        assert_eq!(signature.signature, *hash, "{encoding:?}");
        assert_eq!(signature.version, "rsig-v2");
    }
}

#[test]
fn v2_ignores_how_a_failure_was_reported_and_lets_the_code_dominate() {
    let base = SignatureSource {
        category: "database",
        error_code: Some("PG-53300"),
        error_message: Some("too many clients on db-1.prod.internal"),
        title: "DB saturated",
        ..SignatureSource::default()
    };
    let v2 = |s: &SignatureSource<'_>| sign_with(&RsigV2, s).signature;
    let other_report = SignatureSource {
        trigger_type: Some("alert"),
        source_type: Some("prometheus"),
        error_message: Some("something else entirely"),
        title: "another title",
        ..base
    };
    assert_eq!(v2(&base), v2(&other_report));
    // v1 splits the same two.
    assert_ne!(
        sign_current(&base).signature,
        sign_current(&other_report).signature
    );
    // Without code and message, titles group (not the category alone).
    let titled = |title| SignatureSource {
        category: "database",
        title,
        ..SignatureSource::default()
    };
    assert_eq!(
        v2(&titled("Replica lag 30s on db-2")),
        v2(&titled("Replica lag 45s on db-7"))
    );
    assert_ne!(
        v2(&titled("Replica lag 30s on db-2")),
        v2(&titled("Disk full on db-2"))
    );
    assert_eq!(
        sign_current(&titled("Replica lag")).signature,
        sign_current(&titled("Disk full")).signature
    );
}

const GOLDEN: [&str; 4] = [
    "6c4bd9bb1f3a9e4f987099f8b3529d32949a08c96017f12fced611a83631235c",
    "14d93a150ec2d1aaca7a3771edf636d47e7a3993ee8a78e92185e0687156db58",
    "171a6d468b296af8a147c379ef94a17daaba44549e353ec6164e6f67514cf73b",
    "f56c71ee23fb0aefc2bc45a995de69a1fcbc6021c906c2f9af7214718e6a09f1",
];

#[test]
fn registry_knows_every_version_once() {
    assert_eq!(
        ALGORITHMS.iter().map(|a| a.version()).collect::<Vec<_>>(),
        ["rsig-v1", "rsig-v2", "rsig-v3"]
    );
    assert!(algorithm(CURRENT_VERSION).is_some());
    assert!(algorithm("rsig-v0").is_none());
    for a in ALGORITHMS {
        assert!(a.version().len() <= 20);
    }
}

/// Golden vectors of `rsig-v3`: these exact encodings and hashes are `rsig-v3` forever. The encodings and hashes
/// were computed outside Rust by the specification's reference implementation in Python (`hashlib.sha256`; see
/// `docs/recurrence-signatures.md`), which agrees with this crate's template on all 16,000 Loghub-2k lines.
#[test]
fn golden_vectors_v3() {
    #[allow(clippy::type_complexity)]
    let vectors: &[(&str, Option<&str>, Option<&str>, &str, &str, &str)] = &[
        (
            "database",
            Some("PG-53300"),
            None,
            "Too many connections",
            "rsig-v3\n4:mode=4:code\n8:category=8:database\n10:error_code=8:pg-53300",
            "d2814978634ef5aa52cbffc33584938532a71c9ccdeb8cf7cb7fd32d8b7ef438",
        ),
        (
            "hdfs",
            None,
            Some(
                "Deleting block blk_-4794867979917102672 file /mnt/hadoop/dfs/data/current/subdir19/blk_-4794867979917102672",
            ),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=4:hdfs\n13:error_message=27:deleting block <*> file <*>",
            "ffd7173d05361f2b150980227ac759d822043276ecf4a0bf11f92258e94f1f00",
        ),
        (
            "spark",
            None,
            Some("Found block rdd_2_3 locally (12.8 KB)"),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=5:spark\n13:error_message=23:found block <*> locally",
            "06075b13d769bedb2eb6e3acd66bcdf7130f53156ffedf0dfba583adad421872",
        ),
        (
            "ntp",
            None,
            Some("synchronized at Sun Jul 10 14:22:01 2005"),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=3:ntp\n13:error_message=19:synchronized at <*>",
            "681ae091c08939a4b895e96ad05ddf51eb3cf47a12abf028beac6f135cbd58fc",
        ),
        (
            "app",
            None,
            Some("KeyError: 'customer_id' while importing order 881"),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=3:app\n13:error_message=40:keyerror : <*> while importing order <*>",
            "c415150b4fd26da9a1e5d86cea58a230dbf39e0db38124392a9672d0652ce649",
        ),
        (
            "http",
            None,
            Some("\"DELETE /api/orders HTTP/1.1\" 404"),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=4:http\n13:error_message=18:\" delete <*> \" <*>",
            "7c31b04139b03ea0fba64810f82622a9f555fc5a4e94895cd3d544c4c01b958f",
        ),
        (
            "network",
            None,
            Some("read tcp [fe80::1]:443->[2001:db8::bbde]:5432: reset"),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=7:network\n13:error_message=42:read tcp [ <*> ] : <*> > [ <*> ] <*> reset",
            "edd19e2889c65b0ae674d49a2850407bd96678db0fe2e20afdc45c01b1f057c7",
        ),
        (
            "email",
            None,
            Some("mail to ops.k@example.com bounced"),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=5:email\n13:error_message=19:mail to <*> bounced",
            "e22546867c73df7f7eaaad3b67578302632f07ac706c7a7dc7cb30ca9114b984",
        ),
        (
            "windows",
            None,
            Some("open C:\\Windows\\System\\ntdll.dll failed"),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=7:windows\n13:error_message=19:open c : <*> failed",
            "ad68c61a6b9538f4ea1b4214d6d230e0fdc1a98d47e5c084c5c2389ac238ac34",
        ),
        (
            "app",
            None,
            None,
            "Disk 93% full on node-7",
            "rsig-v3\n4:mode=5:title\n8:category=3:app\n5:title=20:disk <*> full on <*>",
            "6710f5142b7897431ebe961ba2b22dba2fcb3ce19188386994a98cdac809ef95",
        ),
        (
            "réseau",
            None,
            Some("délai dépassé après 30 secondes"),
            "x",
            "rsig-v3\n4:mode=7:message\n8:category=7:réseau\n13:error_message=36:délai dépassé après <*> secondes",
            "b1761267339ecfca277d57652aea183ddc49d68ab5c2859eda1fdc1ff434a47b",
        ),
    ];
    for (category, error_code, error_message, title, encoding, hash) in vectors {
        let signature = sign_with(
            &RsigV3,
            &SignatureSource {
                category,
                error_code: *error_code,
                error_message: *error_message,
                title,
                ..SignatureSource::default()
            },
        );
        assert_eq!(
            encode("rsig-v3", &signature.inputs),
            *encoding,
            "{error_message:?} {title:?}"
        );
        assert_eq!(signature.signature, *hash, "{encoding:?}");
        assert_eq!(signature.version, "rsig-v3");
    }
}
