//! Tests for the krb5.conf parser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;

fn ep(host: &str, port: u16) -> Endpoint {
    Endpoint { host: host.into(), port }
}

/// The file the research notes and the integration tests use for the DC (one key per line).
const SAMR_TEST: &str = "\
[libdefaults]
    default_realm = SAMR.TEST
    dns_lookup_kdc = false
    dns_lookup_realm = false

[realms]
    SAMR.TEST = {
        kdc = 127.0.0.1:88
        kpasswd_server = 127.0.0.1:464
    }
";

#[test]
fn the_integration_dc_file() {
    let c = parse_krb5conf(SAMR_TEST).unwrap();
    assert_eq!(c.default_realm.as_deref(), Some("SAMR.TEST"));
    assert_eq!(c.dns_lookup_kdc, Some(false));
    assert!(!c.dns_lookup_kdc());
    assert_eq!(c.dns_lookup_realm, Some(false));
    assert_eq!(c.kdcs("SAMR.TEST"), vec![ep("127.0.0.1", 88)]);
    assert_eq!(c.kpasswd_servers("SAMR.TEST"), vec![ep("127.0.0.1", 464)]);
    assert!(c.kdcs("OTHER.TEST").is_empty());
    assert!(c.kpasswd_servers("OTHER.TEST").is_empty());
    // A realm typed in another case still finds the entry.
    assert_eq!(c.kdcs("samr.test"), vec![ep("127.0.0.1", 88)]);
}

/// What `samba-tool domain provision` wrote for the DC (private/krb5.conf): tabs, no KDC lines,
/// DNS lookup on, a domain_realm entry.
#[test]
fn the_file_samba_generates() {
    let text = "[libdefaults]\n\tdefault_realm = SAMR.TEST\n\tdns_lookup_realm = false\n\tdns_lookup_kdc = true\n\n\
                [realms]\nSAMR.TEST = {\n\tdefault_domain = samr.test\n}\n\n[domain_realm]\n\tdc1 = SAMR.TEST\n";
    let c = parse_krb5conf(text).unwrap();
    assert_eq!(c.default_realm.as_deref(), Some("SAMR.TEST"));
    assert!(c.dns_lookup_kdc());
    assert!(c.kdcs("SAMR.TEST").is_empty());
    assert_eq!(c.realm("SAMR.TEST").unwrap().default_domain.as_deref(), Some("samr.test"));
    assert_eq!(c.realm_for_host("dc1"), Some("SAMR.TEST"));
    assert_eq!(c.realm_for_host("DC1."), Some("SAMR.TEST"));
    assert_eq!(c.realm_for_host("dc2"), None);
}

/// An excerpt of the krb5.conf Debian ships (krb5-config): comments, Heimdal-only keys, several
/// KDCs with and without ports, admin servers, nested subsections, domain_realm suffixes.
const DEBIAN: &str = "\
[libdefaults]
\tdefault_realm = ATHENA.MIT.EDU

# The following krb5.conf variables are only for MIT Kerberos.
\tkdc_timesync = 1
\tccache_type = 4
\tforwardable = true
\tproxiable = true
        rdns = false

# The following libdefaults parameters are only for Heimdal Kerberos.
\tfcc-mit-ticketflags = true

[realms]
\tATHENA.MIT.EDU = {
\t\tkdc = kerberos.mit.edu
\t\tkdc = kerberos-1.mit.edu
\t\tkdc = kerberos-2.mit.edu:88
\t\tadmin_server = kerberos.mit.edu
\t\tdefault_domain = mit.edu
\t}
\tZONE.MIT.EDU = {
\t\tkdc = casio.mit.edu
\t\tkdc = seiko.mit.edu
\t\tadmin_server = casio.mit.edu
\t}
\tCSAIL.MIT.EDU = {
\t\tadmin_server = kerberos.csail.mit.edu
\t\tdefault_domain = csail.mit.edu
\t}
\tGNU.ORG = {
\t\tkdc = kerberos.gnu.org
\t\tkdc = kerberos-2.gnu.org
\t\tkdc = kerberos-3.gnu.org
\t\tadmin_server = kerberos.gnu.org
\t\tauth_to_local = RULE:[1:$1@$0](.*@GNU.ORG)s/@.*//
\t\tauth_to_local_names = {
\t\t\tkdc = not-a-kdc
\t\t}
\t}

[domain_realm]
\t.mit.edu = ATHENA.MIT.EDU
\tmit.edu = ATHENA.MIT.EDU
\t.media.mit.edu = MEDIA-LAB.MIT.EDU
\tmedia.mit.edu = MEDIA-LAB.MIT.EDU
\t.csail.mit.edu = CSAIL.MIT.EDU
\tcsail.mit.edu = CSAIL.MIT.EDU
";

#[test]
fn debian_default_file() {
    let c = parse_krb5conf(DEBIAN).unwrap();
    assert_eq!(c.default_realm.as_deref(), Some("ATHENA.MIT.EDU"));
    assert_eq!(c.rdns, Some(false));
    assert_eq!(c.ccache_type, Some(4));
    assert_eq!(c.dns_lookup_kdc, None);
    assert!(c.dns_lookup_kdc(), "MIT default");
    assert_eq!(c.realms.len(), 4);
    assert_eq!(
        c.kdcs("ATHENA.MIT.EDU"),
        vec![
            ep("kerberos.mit.edu", 88),
            ep("kerberos-1.mit.edu", 88),
            ep("kerberos-2.mit.edu", 88)
        ]
    );
    // No kpasswd_server: the admin server's host on 464.
    assert_eq!(c.kpasswd_servers("ATHENA.MIT.EDU"), vec![ep("kerberos.mit.edu", 464)]);
    assert!(c.kdcs("CSAIL.MIT.EDU").is_empty());
    assert_eq!(c.kpasswd_servers("CSAIL.MIT.EDU"), vec![ep("kerberos.csail.mit.edu", 464)]);
    // A nested subsection inside a realm does not disturb the realm's own keys.
    assert_eq!(c.kdcs("GNU.ORG").len(), 3);
    assert_eq!(c.realm_for_host("www.mit.edu"), Some("ATHENA.MIT.EDU"));
    assert_eq!(c.realm_for_host("mit.edu"), Some("ATHENA.MIT.EDU"));
    assert_eq!(c.realm_for_host("x.media.mit.edu"), Some("MEDIA-LAB.MIT.EDU"), "longest suffix");
    assert_eq!(c.realm_for_host("WWW.CSAIL.MIT.EDU"), Some("CSAIL.MIT.EDU"));
    assert_eq!(c.realm_for_host("notmit.edu"), None);
    assert_eq!(c.realm_for_host("example.org"), None);
}

#[test]
fn kpasswd_fallbacks() {
    let c = parse_krb5conf(
        "[realms]\n\
         A = {\n kdc = k1:8888\n kdc = k2\n}\n\
         B = {\n kdc = k1\n admin_server = adm:749\n}\n\
         C = {\n kdc = k1\n admin_server = adm\n kpasswd_server = pw\n kpasswd_server = [fd00::5]:4464\n}\n",
    )
    .unwrap();
    // No kpasswd_server, no admin_server: the KDC hosts on 464 (their ports are the KDC's).
    assert_eq!(c.kpasswd_servers("A"), vec![ep("k1", 464), ep("k2", 464)]);
    assert_eq!(c.kdcs("A"), vec![ep("k1", 8888), ep("k2", 88)]);
    // admin_server's port is kadmin's: replaced by 464.
    assert_eq!(c.kpasswd_servers("B"), vec![ep("adm", 464)]);
    assert_eq!(c.kpasswd_servers("C"), vec![ep("pw", 464), ep("fd00::5", 4464)]);
}

#[test]
fn endpoints() {
    assert_eq!(Endpoint::parse("kdc.example.com", 88), Some(ep("kdc.example.com", 88)));
    assert_eq!(Endpoint::parse(" kdc:750 ", 88), Some(ep("kdc", 750)));
    assert_eq!(Endpoint::parse("tcp/kdc:750", 88), Some(ep("kdc", 750)));
    assert_eq!(Endpoint::parse("udp/kdc", 88), Some(ep("kdc", 88)));
    assert_eq!(Endpoint::parse("[::1]:8888", 88), Some(ep("::1", 8888)));
    assert_eq!(Endpoint::parse("[::1]", 88), Some(ep("::1", 88)));
    assert_eq!(Endpoint::parse("fe80::1", 88), Some(ep("fe80::1", 88)));
    for bad in [
        "",
        " ",
        "kdc:",
        "kdc:0",
        "kdc:65536",
        "kdc:x",
        ":88",
        "[::1",
        "[::1]x",
        "[]:88",
        "https://kdcproxy.example.com/KdcProxy",
        "two words",
        "tcp/tcp/kdc",
        "[[::1]:88",
        "a]b",
        "host/x",
    ] {
        assert_eq!(Endpoint::parse(bad, 88), None, "{bad:?}");
    }
    assert_eq!(ep("::1", 88).to_string(), "[::1]:88");
    assert_eq!(ep("kdc", 88).to_string(), "kdc:88");
}

#[test]
fn comments_quotes_finals_and_unknown_sections() {
    let text = "\
# comment
; also a comment
[libdefaults]*
  default_realm* = \"QUOTED.TEST\"
  default_ccache_name = \"FILE:/tmp/krb5cc_%{uid}\"
  udp_preference_limit = 1
  dns_lookup_kdc = Off
  dns_lookup_realm = maybe
  default_realm = SECOND.TEST
[unknown_section]
  anything = goes
  nested = {
     deeper = {
        x = y
     }*
  }
[capaths]
  A = {
    B = .
  }
[realms]
  QUOTED.TEST = {
    kdc = \"kdc\\\\1\"
  }
";
    let c = parse_krb5conf(text).unwrap();
    assert_eq!(c.default_realm.as_deref(), Some("QUOTED.TEST"), "the first value wins");
    assert_eq!(c.default_ccache_name.as_deref(), Some("FILE:/tmp/krb5cc_%{uid}"));
    assert_eq!(c.udp_preference_limit, Some(1));
    assert_eq!(c.dns_lookup_kdc, Some(false));
    assert_eq!(c.dns_lookup_realm, None, "not a boolean");
    assert_eq!(c.realm("QUOTED.TEST").unwrap().kdc, vec!["kdc\\1".to_owned()]);
    assert_eq!(c.realms.len(), 1);
}

#[test]
fn include_directives_are_returned() {
    let text = "include /etc/krb5.conf.d/extra.conf\nincludedir /etc/krb5.conf.d/\nmodule /lib/x.so:res\n\
                [libdefaults]\n  include_me = no\n";
    let c = parse_krb5conf(text).unwrap();
    assert_eq!(
        c.includes,
        vec![
            Include::File("/etc/krb5.conf.d/extra.conf".into()),
            Include::Dir("/etc/krb5.conf.d/".into())
        ]
    );
}

#[test]
fn merging_a_later_file() {
    let mut a = parse_krb5conf(SAMR_TEST).unwrap();
    let b = parse_krb5conf(
        "[libdefaults]\n default_realm = OTHER\n rdns = false\n\
         [realms]\n SAMR.TEST = {\n  kdc = dc2.samr.test\n }\n OTHER = {\n  kdc = o\n }\n\
         [domain_realm]\n .samr.test = SAMR.TEST\n",
    )
    .unwrap();
    a.merge(b);
    assert_eq!(a.default_realm.as_deref(), Some("SAMR.TEST"), "earlier file wins");
    assert_eq!(a.rdns, Some(false), "unset values are filled in");
    assert_eq!(a.kdcs("SAMR.TEST"), vec![ep("127.0.0.1", 88), ep("dc2.samr.test", 88)]);
    assert_eq!(a.kdcs("OTHER"), vec![ep("o", 88)]);
    assert_eq!(a.realm_for_host("dc1.samr.test"), Some("SAMR.TEST"));
}

#[test]
fn duplicate_kdcs_are_listed_once() {
    let c = parse_krb5conf("[realms]\nR = {\n kdc = a\n kdc = a:88\n kdc = tcp/a\n kdc = b\n}\n")
        .unwrap();
    assert_eq!(c.kdcs("R"), vec![ep("a", 88), ep("b", 88)]);
}

#[test]
fn syntax_errors_name_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("default_realm = X\n", 1, "relation outside any section"),
        ("[libdefaults\n", 1, "unterminated section header"),
        ("[]\n", 1, "empty section name"),
        ("[realms]\n}\n", 2, "'}' without '{'"),
        ("[realms]\nR = {\n kdc = a\n", 3, "unclosed '{' at end of file"),
        ("[realms]\nR = {\n[libdefaults]\n}\n", 3, "section header inside braces"),
        ("[libdefaults]\njust words\n", 2, "expected 'tag = value'"),
        ("[libdefaults]\n = x\n", 2, "empty tag"),
    ];
    for (text, line, what) in cases {
        assert_eq!(
            parse_krb5conf(text),
            Err(Krb5ConfError::Syntax { line: *line, what }),
            "{text:?}"
        );
    }
    let deep = format!("[x]\n{}", "a = {\n".repeat(MAX_DEPTH + 1));
    assert_eq!(
        parse_krb5conf(&deep),
        Err(Krb5ConfError::Syntax { line: MAX_DEPTH + 2, what: "subsections nested too deeply" })
    );
}

#[test]
fn size_caps() {
    assert_eq!(parse_krb5conf(&"#".repeat(MAX_KRB5CONF_LEN + 1)), Err(Krb5ConfError::TooLarge));
    assert_eq!(parse_krb5conf(&"\n".repeat(MAX_LINES + 1)), Err(Krb5ConfError::TooLarge));
    assert!(parse_krb5conf(&"\n".repeat(MAX_LINES)).is_ok());
    let many = format!("[realms]\nR = {{\n{}}}\n", " kdc = k\n".repeat(MAX_VALUES + 50));
    assert_eq!(parse_krb5conf(&many).unwrap().realm("R").unwrap().kdc.len(), MAX_VALUES);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_text_never_panics(s in "[\\[\\]{}=*#;a-z \\t\\n\"\\\\:/.0-9]{0,300}") {
        if let Ok(c) = parse_krb5conf(&s) {
            for r in &c.realms {
                let _ = c.kdcs(&r.name);
                let _ = c.kpasswd_servers(&r.name);
            }
            let _ = c.realm_for_host("a.b");
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(s in any::<String>()) {
        let _ = parse_krb5conf(&s);
        let _ = Endpoint::parse(&s, 88);
    }
}
