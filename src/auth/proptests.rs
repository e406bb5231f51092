//! Property tests over every auth decoder: arbitrary and mutated inputs never panic, and
//! whatever decodes re-encodes to something that decodes to the same value.

use proptest::prelude::*;

use super::ntlm::authenticate::{Authenticate, decode_authenticate, tests::CHROMIUM_AUTH_V2};
use super::ntlm::av_pair::AvPairs;
use super::ntlm::challenge::{Challenge, decode_challenge, tests::SPEC_CHALLENGE_V2};
use super::ntlm::negotiate::Negotiate;
use super::spnego::{NegTokenInit, NegTokenResp, SpnegoToken, decode_spnego};

fn check_all(b: &[u8]) {
    if let Ok(c) = decode_challenge(b) {
        assert_eq!(Challenge::decode(&c.encode()).unwrap(), c);
    }
    if let Ok(a) = decode_authenticate(b) {
        assert_eq!(Authenticate::decode(&a.encode()).unwrap(), a);
    }
    if let Ok(n) = Negotiate::decode(b) {
        assert_eq!(Negotiate::decode(&n.encode()).unwrap(), n);
    }
    if let Ok(l) = AvPairs::decode(b) {
        assert_eq!(AvPairs::decode(&l.encode()).unwrap(), l);
    }
    match decode_spnego(b) {
        Ok(SpnegoToken::Init(i)) => assert_eq!(NegTokenInit::decode(&i.encode()).unwrap(), i),
        Ok(SpnegoToken::Resp(r)) => assert_eq!(NegTokenResp::decode(&r.encode()).unwrap(), r),
        Err(_) => {}
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let neg = Negotiate::client_default().encode();
    vec![
        hex::decode(SPEC_CHALLENGE_V2).unwrap(),
        hex::decode(CHROMIUM_AUTH_V2).unwrap(),
        NegTokenInit::ntlm(neg.clone()).encode(),
        NegTokenResp {
            neg_state: Some(super::spnego::NegState::AcceptIncomplete),
            supported_mech: Some(super::spnego::OID_NTLMSSP.to_vec()),
            response_token: Some(hex::decode(SPEC_CHALLENGE_V2).unwrap()),
            mech_list_mic: Some(vec![1; 16]),
        }
        .encode(),
        neg,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_all(&b);
    }

    #[test]
    fn mutated_vectors_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = seeds()[which].clone();
        for (i, v) in edits {
            let k = i.index(b.len());
            b[k] = v;
        }
        check_all(&b);
        let n = cut.index(b.len() + 1);
        check_all(&b[..n]);
    }
}
