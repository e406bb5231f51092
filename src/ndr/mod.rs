//! NDR20 marshalling (two-pass: scalars, then deferred pointees), as [C706] chapter 14 and
//! [MS-RPCE] 2.2.4/2.2.5 define it.
