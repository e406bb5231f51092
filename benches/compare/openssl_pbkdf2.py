#!/usr/bin/env python3
"""Time OpenSSL's PBKDF2-HMAC-SHA512 through Python's hashlib (which calls OpenSSL's
PKCS5_PBKDF2_HMAC) with the opnum-73 shape: 16-byte password (an NT hash), 16-byte salt,
dkLen 16. Prints: "openssl <best ns/iteration> <best seconds> <OpenSSL version>".

Usage: openssl_pbkdf2.py [iterations] [repeats]   (defaults 100000 and 5)
"""
import hashlib
import ssl
import sys
import time


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    nt16 = bytes([0x78]) * 16
    salt16 = bytes([0x79]) * 16
    # Warm-up, like the Rust side.
    hashlib.pbkdf2_hmac("sha512", nt16, salt16, min(iterations, 20_000), 16)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        hashlib.pbkdf2_hmac("sha512", nt16, salt16, iterations, 16)
        best = min(best, time.perf_counter() - t)
    print(f"openssl {best * 1e9 / iterations:.2f} {best:.6f} {ssl.OPENSSL_VERSION.replace(' ', '_')}")


if __name__ == "__main__":
    main()
