#!/usr/bin/env python3
"""Time one SHA-512 compression (128-byte block) in OpenSSL's assembly, through Python's
hashlib (OpenSSL's EVP digest): hash a 1 MiB buffer (8,192 blocks, so call overhead and
padding are negligible) and divide. Prints: "openssl-sha512-block <best ns/block>".

Usage: openssl_sha512_block.py [repeats]   (default 20)
"""
import hashlib
import sys
import time


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    data = bytes(range(256)) * 4096  # 1 MiB
    blocks = len(data) // 128
    hashlib.sha512(data).digest()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        hashlib.sha512(data).digest()
        best = min(best, time.perf_counter() - t)
    print(f"openssl-sha512-block {best * 1e9 / blocks:.2f}")


if __name__ == "__main__":
    main()
