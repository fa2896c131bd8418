/* param.h - every tunable limit of vmm386 in one place (xv6 style). */
#ifndef PARAM_H
#define PARAM_H

#define RAM_MIN_MIB        2        /* -m lower bound */
#define RAM_MAX_MIB        3072     /* -m upper bound: below the 0xC0000000 device hole */
#define RAM_DEFAULT_MIB    128      /* QEMU's default */
#define GUEST_PAGE         4096u

#define CC_SIZE            (64u << 20)  /* translation cache bytes */
#define CC_HASH_BITS       16           /* physical-address hash of blocks */
#define CC_LOOKUP_BITS     12           /* inlined indirect-branch cache entries (2^n) */
#define XL_MAX_INSNS       64           /* guest instructions per block at most */
#define XL_MAX_HOST_BYTES  4096         /* host bytes per block at most */

#define SMMU_WINDOWS       48       /* shadow windows (guest page directory x view) kept */
#define SMMU_PREFETCH      16       /* neighbour group mapped on a 4 KiB fill (power of 2) */
#define SMMU_FLOOD         8        /* traced writes with no fill between: unshadow */
#define ADAPT_SLOTS        1024u    /* adaptive translation: instructions remembered (2^10) */
#define ADAPT_FAULTS       4u       /* faults before an instruction becomes a monitor call */
#define ADAPT_MISSES       16u      /* monitor calls in a row that miss: back to native code */
#define TIMER_MIN_NS       100000   /* host timer never fires faster than this */
#define POLL_NS            10000000 /* console input polled at least this often */

#endif
