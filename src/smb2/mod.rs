//! SMB2/3 client messages, keys, signing, encryption and the pure connection state machine
//! for named pipes on IPC$ ([MS-SMB2]).
