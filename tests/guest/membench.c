// SPDX-License-Identifier: GPL-2.0
/*
 * membench [SCALE] - CPU and memory micro-benchmark for devirt VMs.
 *
 * Build: gcc -static -O2 -o membench tests/guest/membench.c
 *
 * Runs, timed with clock_gettime(CLOCK_MONOTONIC):
 *   compute  ITERS rounds of a xorshift64 and multiply-add chain, each
 *            round depending on the one before (4e8 at SCALE 1);
 *   memcpy   REPS copies of a BYTES buffer into another (32 MiB x 20);
 *   read     REPS passes summing the source buffer as 64-bit words.
 * About 1 s on a fast host at SCALE 1. SCALE (a positive number, default
 * 1) multiplies ITERS and REPS; below 1 it also shrinks BUFFER, down to
 * 1 MiB, so that an emulated CPU finishes in reasonable time.
 *
 * Output, one line on stdout:
 *   DEVIRT-BENCH compute_ns=N memcpy_mbps=N read_mbps=N iters=N
 *                bytes=N reps=N check=HEX
 * (one line; wrapped here). mbps are 10^6 bytes per second, counting the
 * bytes copied (memcpy) or read (read) once. check mixes the results so
 * that the compiler cannot drop the work; it only depends on SCALE.
 * Exit status: 0, 2 for a bad argument, 1 when out of memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASE_ITERS 400000000.0
#define BASE_BYTES (32.0 * 1024 * 1024)
#define MIN_BYTES (1UL << 20)
#define BASE_REPS 20.0

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t compute(uint64_t iters)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, acc = 1, i;

	for (i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		acc = acc * 0x2545f4914f6cdd1dULL + x;
	}
	return acc ^ x;
}

/* Bytes per second as MB/s (10^6), from a byte count and nanoseconds. */
static unsigned long long mbps(double bytes, uint64_t ns)
{
	return (unsigned long long)(bytes * 1000.0 / (double)(ns ? ns : 1));
}

int main(int argc, char **argv)
{
	uint64_t iters, t0, compute_ns, copy_ns, read_ns, result, sum = 0;
	double scale = 1.0;
	size_t bytes, words, i;
	uint64_t *src, *dst;
	char *end;
	int reps, r;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [SCALE]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		errno = 0;
		scale = strtod(argv[1], &end);
		if (errno || end == argv[1] || *end || !(scale > 0) ||
		    scale > 1000) {
			fprintf(stderr, "membench: bad scale '%s'\n", argv[1]);
			return 2;
		}
	}

	iters = (uint64_t)(BASE_ITERS * scale);
	if (!iters)
		iters = 1;
	reps = (int)(BASE_REPS * scale + 0.5);
	if (reps < 1)
		reps = 1;
	bytes = scale < 1 ? (size_t)(BASE_BYTES * scale) : (size_t)BASE_BYTES;
	bytes &= ~(size_t)4095;
	if (bytes < MIN_BYTES)
		bytes = MIN_BYTES;
	words = bytes / sizeof(uint64_t);

	src = aligned_alloc(4096, bytes);
	dst = aligned_alloc(4096, bytes);
	if (!src || !dst) {
		fprintf(stderr, "membench: cannot allocate 2 x %zu bytes\n",
			bytes);
		return 1;
	}
	/* Fault every page in before timing. */
	for (i = 0; i < words; i++)
		src[i] = i * 0x9e3779b97f4a7c15ULL;
	memset(dst, 0, bytes);

	t0 = now_ns();
	result = compute(iters);
	compute_ns = now_ns() - t0;

	t0 = now_ns();
	for (r = 0; r < reps; r++) {
		memcpy(dst, src, bytes);
		/* Each copy must happen: the buffers may be read. */
		asm volatile("" : : "r"(dst), "r"(src) : "memory");
	}
	copy_ns = now_ns() - t0;

	t0 = now_ns();
	for (r = 0; r < reps; r++) {
		for (i = 0; i < words; i++)
			sum += src[i];
		asm volatile("" : "+r"(sum) : : "memory");
	}
	read_ns = now_ns() - t0;

	result ^= sum ^ dst[words / 2];
	printf("DEVIRT-BENCH compute_ns=%llu memcpy_mbps=%llu read_mbps=%llu "
	       "iters=%llu bytes=%zu reps=%d check=%016llx\n",
	       (unsigned long long)compute_ns,
	       mbps((double)bytes * reps, copy_ns),
	       mbps((double)bytes * reps, read_ns), (unsigned long long)iters,
	       bytes, reps, (unsigned long long)result);
	free(src);
	free(dst);
	return 0;
}
