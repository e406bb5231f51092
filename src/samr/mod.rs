//! Typed MS-SAMR calls: one request/response pair per opnum ([MS-SAMR] 3.1.5).
