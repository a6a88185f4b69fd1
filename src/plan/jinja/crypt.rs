//! `password_hash` (SHA-crypt, for the `user` module's `password`) and
//! `to_uuid`.
//!
//! Source: ansible-core `plugins/filter/core.py` (`get_encrypted_password`,
//! `to_uuid`) and `utils/encrypt.py`: Ansible hashes with passlib, with
//! `rounds` 656000 for `sha512` and 535000 for `sha256` when none is given
//! (passlib's `implicit_rounds`), a salt of `./0-9A-Za-z` of at most 16
//! characters (random, 16 long, when none is given), and prints
//! `$6$rounds=N$salt$hash` (`rounds=` left out for 5000). The hash itself is
//! Ulrich Drepper's SHA-crypt (the `sha-crypt` crate), encoded as glibc's
//! `crypt(3)` does. `md5` and `blowfish` (bcrypt) are not supported.

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, ErrorKind};
use sha1::Digest;

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The crypt alphabet: 24 bits as 4 characters (fewer for the last group),
/// low bits first.
fn b64_from_24bit(b2: u8, b1: u8, b0: u8, n: usize, out: &mut String) {
    let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
    for _ in 0..n {
        out.push(char::from(ITOA64[(w & 0x3f) as usize]));
        w >>= 6;
    }
}

/// SHA-512-crypt's byte order for the encoding (Drepper's specification).
fn encode_sha512(d: &[u8; 64]) -> String {
    const GROUPS: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    let mut out = String::with_capacity(86);
    for (a, b, c) in GROUPS {
        b64_from_24bit(d[a], d[b], d[c], 4, &mut out);
    }
    b64_from_24bit(0, 0, d[63], 2, &mut out);
    out
}

/// SHA-256-crypt's byte order for the encoding.
fn encode_sha256(d: &[u8; 32]) -> String {
    const GROUPS: [(usize, usize, usize); 10] = [
        (0, 10, 20),
        (21, 1, 11),
        (12, 22, 2),
        (3, 13, 23),
        (24, 4, 14),
        (15, 25, 5),
        (6, 16, 26),
        (27, 7, 17),
        (18, 28, 8),
        (9, 19, 29),
    ];
    let mut out = String::with_capacity(43);
    for (a, b, c) in GROUPS {
        b64_from_24bit(d[a], d[b], d[c], 4, &mut out);
    }
    b64_from_24bit(0, d[31], d[30], 3, &mut out);
    out
}

fn random_salt(len: usize) -> Result<String, Error> {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let w = getrandom::u32().map_err(|e| err(format!("password_hash: no random salt: {e}")))?;
        // 64 divides 2^32: every character is equally likely
        out.push(char::from(ITOA64[(w % 64) as usize]));
    }
    Ok(out)
}

/// `password_hash(hashtype='sha512', salt=None, salt_size=None, rounds=None, ident=None)`.
pub fn password_hash(
    password: Value,
    hashtype: Option<String>,
    salt: Option<Value>,
    kw: Kwargs,
) -> Result<String, Error> {
    let hashtype = match hashtype {
        Some(h) => h,
        None => kw
            .get::<Option<String>>("hashtype")?
            .unwrap_or_else(|| "sha512".into()),
    };
    let salt = match salt {
        Some(s) => Some(s),
        None => kw.get::<Option<Value>>("salt")?,
    };
    let salt_size = kw.get::<Option<usize>>("salt_size")?;
    let rounds = kw.get::<Option<u32>>("rounds")?;
    let _ident = kw.get::<Option<String>>("ident")?;
    kw.assert_all_used()?;
    let (id, implicit_rounds) = match hashtype.as_str() {
        "sha512" | "sha512_crypt" => ("6", 656_000),
        "sha256" | "sha256_crypt" => ("5", 535_000),
        "md5" | "md5_crypt" | "blowfish" | "bcrypt" => {
            return Err(err(format!(
                "password_hash: `{hashtype}` is not supported by baton; use 'sha512' (or 'sha256')"
            )))
        }
        other => {
            return Err(err(format!(
                "{other} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"
            )))
        }
    };
    let algo = if id == "6" {
        "sha512_crypt"
    } else {
        "sha256_crypt"
    };
    let salt = match salt.filter(|s| s.is_true()) {
        Some(s) => super::python_repr::py_str(&s)?,
        None => random_salt(salt_size.unwrap_or(16).min(16))?,
    };
    if salt.len() > 16 {
        return Err(err(format!(
            "Could not hash the secret: salt too large ({algo} requires <= 16 chars)"
        )));
    }
    if !salt.bytes().all(|b| ITOA64.contains(&b)) {
        return Err(err(format!(
            "Could not hash the secret: invalid characters in {algo} salt"
        )));
    }
    let rounds = rounds.filter(|r| *r > 0).unwrap_or(implicit_rounds);
    let params = sha_crypt::Params::new(rounds).map_err(|e| {
        err(format!(
            "Could not hash the secret: rounds must be from 1000 to 999999999 ({e})"
        ))
    })?;
    let pw = super::python_repr::py_str(&password)?;
    let hash = if id == "6" {
        encode_sha512(&sha_crypt::sha512_crypt(
            pw.as_bytes(),
            salt.as_bytes(),
            params,
        ))
    } else {
        encode_sha256(&sha_crypt::sha256_crypt(
            pw.as_bytes(),
            salt.as_bytes(),
            params,
        ))
    };
    let rounds_field = if rounds == 5000 {
        String::new()
    } else {
        format!("rounds={rounds}$")
    };
    Ok(format!("${id}${rounds_field}{salt}${hash}"))
}

/// Ansible's namespace for `to_uuid`.
const UUID_NAMESPACE_ANSIBLE: &str = "361e6d51-faec-444a-9079-341386da8e2e";

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s
        .trim()
        .trim_start_matches("urn:uuid:")
        .trim_matches(['{', '}'])
        .chars()
        .filter(|c| *c != '-')
        .collect();
    let bytes = hex::decode(hex).ok()?;
    bytes.try_into().ok()
}

/// `to_uuid(namespace=Ansible's)`: Python's `uuid.uuid5(namespace, text)`.
pub fn to_uuid(text: Value, namespace: Option<String>, kw: Kwargs) -> Result<String, Error> {
    let namespace = match namespace {
        Some(n) => n,
        None => kw
            .get::<Option<String>>("namespace")?
            .unwrap_or_else(|| UUID_NAMESPACE_ANSIBLE.into()),
    };
    kw.assert_all_used()?;
    let ns = parse_uuid(&namespace).ok_or_else(|| {
        err(format!(
            "Invalid value '{namespace}' for 'namespace': badly formed hexadecimal UUID string"
        ))
    })?;
    let mut h = sha1::Sha1::new();
    h.update(ns);
    h.update(super::python_repr::py_str(&text)?.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    ))
}

#[cfg(test)]
mod tests {
    fn eval(expr: &str) -> String {
        let env = super::super::env::environment();
        env.compile_expression(expr)
            .unwrap()
            .eval(())
            .map(|v| v.to_string())
            .unwrap_or_else(|e| format!("ERROR {}", e.detail().unwrap_or_default()))
    }

    /// Expected: ansible-core 2.19 with passlib (the same as glibc's crypt(3)).
    #[test]
    fn sha_crypt_as_ansible_with_passlib() {
        assert_eq!(
            eval("'secret' | password_hash('sha512', 'mysalt', rounds=5000)"),
            "$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1"
        );
        assert_eq!(
            eval("'secret' | password_hash('sha512', 'mysalt', rounds=10000)"),
            "$6$rounds=10000$mysalt$9XTP7570fxVN/uTspSrH6kRPdR4KKGzGz7.TmJjDYGrKSwZuavW/3YaLur8JX6WP75Czcxa.megIO0lKreY0R."
        );
        // Drepper's published test vector
        assert_eq!(
            eval("'Hello world!' | password_hash('sha512', 'saltstring', rounds=5000)"),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            eval("'Hello world!' | password_hash('sha256', 'saltstring', rounds=5000)"),
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        );
        assert!(
            eval("'s' | password_hash('sha512', 'toolongsaltvalue12345')")
                .contains("salt too large")
        );
        assert!(eval("'s' | password_hash('sha512', 'bad_salt')").contains("invalid characters"));
        assert!(eval("'s' | password_hash('md5', 'mysalt')").contains("not supported"));
    }

    #[test]
    fn default_rounds_and_random_salt() {
        let h = eval("'secret' | password_hash");
        assert!(h.starts_with("$6$rounds=656000$"), "{h}");
        assert_eq!(h.len(), 120);
        assert_ne!(h, eval("'secret' | password_hash"));
    }

    #[test]
    fn uuid5_as_python() {
        assert_eq!(
            eval("'www.example.com' | to_uuid"),
            "69680a13-a686-5d20-a166-0e7b3b17ef84"
        );
        assert_eq!(
            eval("'www.example.com' | to_uuid(namespace='11111111-2222-3333-4444-555555555555')"),
            "ac4fa455-d820-57b9-8f3d-931671cea22b"
        );
    }
}
