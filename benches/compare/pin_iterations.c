/* LD_PRELOAD shim for the benchmarks in this directory: Samba's client picks the PBKDF2
 * iteration count of SamrUnicodeChangePasswordUser4 with generate_random_u64_range(5000,
 * 1000000); this replacement returns a fixed count so rpcclient can be compared with
 * `samrpc passwd --iterations N`. The count is SAMRPC_PIN_ITERATIONS (default 5000).
 * With SAMRPC_PIN_LOG set, each call is reported on standard error (to prove the shim is
 * in effect). Build: gcc -shared -fPIC -O2 -o pin_iterations.so pin_iterations.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t generate_random_u64_range(uint64_t lo, uint64_t hi)
{
    uint64_t n = 5000;
    const char *s = getenv("SAMRPC_PIN_ITERATIONS");
    if (s != NULL && *s != '\0') {
        n = strtoull(s, NULL, 10);
    }
    if (getenv("SAMRPC_PIN_LOG") != NULL) {
        fprintf(stderr, "pin_iterations: generate_random_u64_range(%llu, %llu) -> %llu\n",
                (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)n);
    }
    return n;
}
