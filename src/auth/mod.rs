//! Authentication: NTLMv2 ([MS-NLMP]) wrapped in SPNEGO ([RFC 4178], [MS-SPNG]) behind a step
//! interface.
