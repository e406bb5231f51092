//! DCE/RPC connection-oriented PDUs and the pure client association ([MS-RPCE] 2.2.2, [C706] 12).
