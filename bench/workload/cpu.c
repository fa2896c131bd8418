/*
 * cpu.c - a CPU-bound integer workload with no OS dependencies.
 *
 * Each iteration runs five small kernels through a table of function pointers: a sieve of
 * Eratosthenes, a quicksort with a comparator called through a pointer, a table-driven
 * CRC32, a 16x16 integer matrix multiply and an open-addressing hash table.  Together they
 * exercise loops, direct and indirect calls, returns, byte and word memory traffic and
 * data-dependent branches - the translator's everyday work - and fold every result into a
 * checksum so that nothing can be optimised away and every run can be verified.
 *
 * callret_loop() at the end is the call/ret microbenchmark (nbench "callret", native_cpu
 * "callret"): a loop of calls to a function the compiler may neither inline nor analyse
 * (noipa), so each iteration is exactly one CALL and one RET around a multiply-add.  It
 * lives here so the guest and the host link the very same instructions.
 */
#include "cpu.h"

#define SIEVE_N    8192
#define SORT_N     256
#define CRC_BYTES  2048
#define MAT_N      16
#define HASH_SLOTS 1024
#define HASH_KEYS  600

static uint8_t sieve_buf[SIEVE_N];
static uint32_t sort_buf[SORT_N];
static uint32_t crc_table[256];
static uint8_t crc_data[CRC_BYTES];
static int32_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];
static struct { uint32_t key, val; } htab[HASH_SLOTS];

static uint32_t rng_next(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static uint32_t run_sieve(uint32_t seed)
{
	uint32_t n = SIEVE_N - (seed & 1023), count = 0;
	for (uint32_t i = 0; i < n; i++)
		sieve_buf[i] = 1;
	for (uint32_t i = 2; i * i < n; i++)
		if (sieve_buf[i])
			for (uint32_t j = i * i; j < n; j += i)
				sieve_buf[j] = 0;
	for (uint32_t i = 2; i < n; i++)
		count += sieve_buf[i];
	return count;
}

typedef int (*cmp_fn)(uint32_t, uint32_t);
static int cmp_up(uint32_t a, uint32_t b) { return a < b ? -1 : a > b; }
static int cmp_down(uint32_t a, uint32_t b) { return a > b ? -1 : a < b; }

static void quicksort(uint32_t *a, int lo, int hi, cmp_fn cmp)
{
	while (hi - lo > 8) {
		uint32_t pivot = a[lo + (hi - lo) / 2];
		int i = lo, j = hi;
		while (i <= j) {
			while (cmp(a[i], pivot) < 0)
				i++;
			while (cmp(a[j], pivot) > 0)
				j--;
			if (i <= j) {
				uint32_t t = a[i];
				a[i++] = a[j];
				a[j--] = t;
			}
		}
		if (j - lo < hi - i) {
			quicksort(a, lo, j, cmp);
			lo = i;
		} else {
			quicksort(a, i, hi, cmp);
			hi = j;
		}
	}
	for (int i = lo + 1; i <= hi; i++) {
		uint32_t v = a[i];
		int j = i - 1;
		while (j >= lo && cmp(a[j], v) > 0) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static uint32_t run_sort(uint32_t seed)
{
	uint32_t s = seed | 1, sum = 0;
	for (int i = 0; i < SORT_N; i++)
		sort_buf[i] = rng_next(&s) % 100000u;
	quicksort(sort_buf, 0, SORT_N - 1, (seed & 1) ? cmp_down : cmp_up);
	for (int i = 0; i < SORT_N; i++)
		sum += sort_buf[i] * (uint32_t)(i + 1);
	return sum;
}

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t run_crc(uint32_t seed)
{
	uint32_t s = seed | 1, crc = 0xFFFFFFFFu;
	for (int i = 0; i < CRC_BYTES; i += 4) {
		uint32_t r = rng_next(&s);
		crc_data[i] = r;
		crc_data[i + 1] = r >> 8;
		crc_data[i + 2] = r >> 16;
		crc_data[i + 3] = r >> 24;
	}
	for (int i = 0; i < CRC_BYTES; i++)
		crc = crc_table[(crc ^ crc_data[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

static uint32_t run_matmul(uint32_t seed)
{
	uint32_t s = seed | 1, sum = 0;
	for (int i = 0; i < MAT_N; i++)
		for (int j = 0; j < MAT_N; j++) {
			mat_a[i][j] = (int32_t)(rng_next(&s) & 0xFF) - 128;
			mat_b[i][j] = (int32_t)(rng_next(&s) & 0xFF) - 128;
		}
	for (int i = 0; i < MAT_N; i++)
		for (int j = 0; j < MAT_N; j++) {
			int32_t acc = 0;
			for (int k = 0; k < MAT_N; k++)
				acc += mat_a[i][k] * mat_b[k][j];
			mat_c[i][j] = acc;
		}
	for (int i = 0; i < MAT_N; i++)
		sum = sum * 31 + (uint32_t)mat_c[i][(i * 7) % MAT_N];
	return sum;
}

static uint32_t hash32(uint32_t k)
{
	k ^= k >> 16;
	k *= 0x7FEB352Du;
	k ^= k >> 15;
	k *= 0x846CA68Bu;
	return k ^ (k >> 16);
}

static uint32_t run_hash(uint32_t seed)
{
	uint32_t s = seed | 1, hits = 0, sum = 0;
	for (int i = 0; i < HASH_SLOTS; i++)
		htab[i].key = 0;
	for (int i = 0; i < HASH_KEYS; i++) {
		uint32_t key = (rng_next(&s) & 0xFFFF) | 1, h = hash32(key) % HASH_SLOTS;
		while (htab[h].key && htab[h].key != key)
			h = (h + 1) % HASH_SLOTS;
		htab[h].key = key;
		htab[h].val += (uint32_t)i;
	}
	for (uint32_t k = 1; k < 0x10000; k += 37) {
		uint32_t h = hash32(k) % HASH_SLOTS;
		while (htab[h].key) {
			if (htab[h].key == k) {
				hits++;
				sum += htab[h].val;
				break;
			}
			h = (h + 1) % HASH_SLOTS;
		}
	}
	return hits * 65599u + sum;
}

typedef uint32_t (*kernel_fn)(uint32_t);
static kernel_fn const kernels[] = { run_sieve, run_sort, run_crc, run_matmul, run_hash };

uint32_t cpu_workload(uint32_t iterations)
{
	uint32_t sum = 0x12345678u, seed = 0x9E3779B9u;
	crc_init();
	for (int i = 0; i < HASH_SLOTS; i++)
		htab[i].val = 0;
	for (uint32_t it = 0; it < iterations; it++) {
		for (unsigned k = 0; k < sizeof(kernels) / sizeof(kernels[0]); k++) {
			uint32_t r = kernels[k](rng_next(&seed) ^ it);
			sum = ((sum << 5) | (sum >> 27)) ^ r;
		}
	}
	return sum;
}

/* The callee of the call/ret loop: noipa keeps GCC from inlining it, cloning it or
 * propagating anything across the call, so every iteration really calls and returns. */
__attribute__((noipa)) static uint32_t callret_leaf(uint32_t x)
{
	return x * 2654435761u + 1;
}

uint32_t callret_loop(uint32_t n)
{
	uint32_t s = n;
	for (uint32_t i = 0; i < n; i++)
		s = callret_leaf(s);
	return s;
}
