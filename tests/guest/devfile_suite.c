// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_suite - drive /dev/devfile_test (tests/modules/devfile_testdev.c)
 * through every file operation. The same binary runs natively in the
 * driver VM and, through device-file forwarding, in a user guest.
 *
 * Build: gcc -static -O2 -pthread -Itests/modules \
 *            -o devfile_suite tests/guest/devfile_suite.c
 *
 * Usage: devfile_suite [-d DEV] [-t TEST,TEST,...] [-n OPS] [-q]
 *   -d DEV   the device file (default /dev/devfile_test)
 *   -t LIST  run only these tests, in the suite's order (default: all)
 *   -x LIST  leave these tests out
 *   -n OPS   operations per thread in the threads test (default 10000)
 *   -q       print only FAIL and SKIP checks and each test's summary
 *   -r a|b   this guest's role in the pair test (two guests at once)
 *   -p PEER  for role a: the device instance the b guest uses
 *
 * Output, one line per check, on stdout:
 *   DEVFILE-TEST <test> <name> PASS|FAIL|SKIP <detail>
 * each test ends with
 *   DEVFILE-TEST <test> summary PASS|FAIL checks=N failed=M ms=T
 * and the run with
 *   DEVFILE-SUITE done failures=N
 * (failures counts FAIL checks). Exit status: 0 without failures, 1 with,
 * 2 for bad usage. docs/devfile-testdev.md lists the tests and checks.
 *
 * The suite assumes it is the device instance's only user while it runs:
 * it resets the instance and checks counter deltas exactly. The pair test
 * (not in "all") needs a second guest running the suite on another
 * instance at the same time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devfile_testdev.h"

#define BUF_SIZE ((uint64_t)DEVFILE_TEST_BUF_SIZE)
#define PAGE 4096UL
#define NTHREADS 8
#define THREAD_REGION 65536UL /* per-thread part of the buffer */
#define THREAD_BASE (8UL << 20)
#define WAIT_MS 10000 /* how long to wait for a wake-up, a signal */
#define KERNEL_ADDR 0xffffffff81000000ULL

/* An unmapped user address the compiler cannot see through. */
static void *volatile low_ptr = (void *)8;

static const char *dev = "/dev/" DEVFILE_TEST_NAME;
static int quiet;
static long nops = 10000;
static int ctl = -1; /* kept open for GET_INFO */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int failures;
static const char *cur_test;
static int cur_checks, cur_failed;

/* ---- output ------------------------------------------------------------ */

static void vreport(const char *name, const char *status, const char *fmt,
		    va_list ap)
{
	char detail[256];
	char *p;

	vsnprintf(detail, sizeof(detail), fmt, ap);
	for (p = detail; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	pthread_mutex_lock(&out_lock);
	cur_checks++;
	if (!strcmp(status, "FAIL")) {
		cur_failed++;
		failures++;
	}
	if (!quiet || strcmp(status, "PASS"))
		printf("DEVFILE-TEST %s %s %s %s\n", cur_test, name, status,
		       detail[0] ? detail : "-");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* One check: PASS when ok. Returns ok. */
static __attribute__((format(printf, 3, 4))) int check(const char *name, int ok,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(name, ok ? "PASS" : "FAIL", fmt, ap);
	va_end(ap);
	return ok;
}

static __attribute__((format(printf, 2, 3))) void skip(const char *name,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(name, "SKIP", fmt, ap);
	va_end(ap);
}

/* ---- helpers ----------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ioctl returning the result or -errno. */
static long xioctl(int fd, unsigned long cmd, void *arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static int get_info(struct devfile_test_info *in)
{
	memset(in, 0, sizeof(*in));
	return (int)xioctl(ctl, DEVFILE_TEST_IOC_GET_INFO, in);
}

static int open_dev(int flags)
{
	return open(dev, flags | O_CLOEXEC);
}

static int set_mode(int fd, int mode)
{
	return (int)xioctl(fd, DEVFILE_TEST_IOC_SET_MODE, &mode);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1, v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(i & 7))
			v = xorshift(&s);
		b[i] = (uint8_t)(v >> ((i & 7) * 8));
	}
}

/* The first differing offset of a and b, or -1. */
static long first_diff(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	size_t i;

	if (!memcmp(a, b, n))
		return -1;
	for (i = 0; i < n && x[i] == y[i]; i++)
		;
	return (long)i;
}

/* A check of system calls: errno in the detail when it fails. */
#define CHECK_SYS(name, cond)                                  \
	({                                                     \
		int _ok = !!(cond);                            \
		check(name, _ok, "errno=%d", _ok ? 0 : errno); \
	})

/* Wait up to ms until the device shows the condition; returns 1 if so. */
#define WAIT_INFO(in, cond, ms)                        \
	({                                             \
		uint64_t _end = now_ms() + (ms);       \
		int _ok;                               \
		for (;;) {                             \
			_ok = !get_info(in) && (cond); \
			if (_ok || now_ms() >= _end)   \
				break;                 \
			sleep_ms(5);                   \
		}                                      \
		_ok;                                   \
	})

static void drain_fifo(void)
{
	char tmp[4096];
	int fd = open_dev(O_RDWR | O_NONBLOCK);

	if (fd < 0)
		return;
	if (!set_mode(fd, DEVFILE_TEST_MODE_PIPE)) {
		while (read(fd, tmp, sizeof(tmp)) > 0)
			;
	}
	close(fd);
}

static void on_signal(int sig)
{
	(void)sig;
}

/* ---- open ----------------------------------------------------------------- */

static void t_open(void)
{
	static const int flags[] = { O_RDWR, O_RDONLY, O_WRONLY,
				     O_RDWR | O_NONBLOCK };
	struct devfile_test_info a, b, c;
	int fds[16], fd, i, n = 0;

	if (!check("info", !get_info(&a), "GET_INFO"))
		return;
	fd = open_dev(O_RDWR);
	if (!check("open", fd >= 0, "fd=%d errno=%d", fd, fd < 0 ? errno : 0))
		return;
	get_info(&b);
	check("open_counted",
	      b.open_files == a.open_files + 1 &&
		      b.total_opens == a.total_opens + 1,
	      "open_files %llu->%llu total_opens %llu->%llu", a.open_files,
	      b.open_files, a.total_opens, b.total_opens);
	CHECK_SYS("close", close(fd) == 0);
	get_info(&c);
	check("release_counted",
	      c.open_files == a.open_files &&
		      c.total_releases == a.total_releases + 1,
	      "open_files %llu total_releases %llu->%llu", c.open_files,
	      a.total_releases, c.total_releases);

	for (i = 0; i < 16; i++) {
		fds[i] = open_dev(flags[i % 4]);
		if (fds[i] >= 0)
			n++;
	}
	get_info(&b);
	check("open_16", n == 16 && b.open_files == a.open_files + 16,
	      "opened=%d open_files=%llu (flags rw, ro, wo, nonblock)", n,
	      b.open_files);
	for (i = 0; i < 16; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	get_info(&c);
	check("close_16",
	      c.open_files == a.open_files &&
		      c.total_releases == b.total_releases + (uint64_t)n,
	      "open_files=%llu releases +%llu", c.open_files,
	      c.total_releases - b.total_releases);

	/* dup() shares the file: one release, at the last close. */
	fd = open_dev(O_RDWR);
	if (fd >= 0) {
		int fd2 = dup(fd);

		get_info(&b);
		close(fd);
		get_info(&c);
		check("dup_keeps_open",
		      fd2 >= 0 && c.total_releases == b.total_releases &&
			      c.open_files == b.open_files,
		      "releases after first close +%llu",
		      c.total_releases - b.total_releases);
		close(fd2);
		get_info(&c);
		check("dup_last_close",
		      c.total_releases == b.total_releases + 1 &&
			      c.open_files == a.open_files,
		      "releases +%llu open_files=%llu",
		      c.total_releases - b.total_releases, c.open_files);
	}
}

/* ---- rw ---------------------------------------------------------------------- */

static void t_rw(void)
{
	static const size_t sizes[] = { 1, 7, 4096, 65536, 1 << 20, 16 << 20 };
	static const off_t offs[] = { 0, 3, 4093, 12345, 4095, 4096 };
	struct devfile_test_info a, b;
	uint8_t *src, *dst;
	char name[32], small[16];
	struct iovec iov[3];
	int fd, fd2;
	unsigned int i;

	src = malloc(16 << 20);
	dst = malloc(16 << 20);
	fd = open_dev(O_RDWR);
	fd2 = open_dev(O_RDWR);
	if (!CHECK_SYS("setup", src && dst && fd >= 0 && fd2 >= 0))
		goto out;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		off_t off = offs[i], p1, p2, p3;
		ssize_t w, r;
		long d;

		snprintf(name, sizeof(name), "size_%zu", n);
		fill(src, n, i + 1);
		memset(dst, 0, n);
		get_info(&a);
		p1 = lseek(fd, off, SEEK_SET);
		w = write(fd, src, n);
		p2 = lseek(fd, 0, SEEK_CUR);
		lseek(fd, off, SEEK_SET);
		r = read(fd, dst, n);
		p3 = lseek(fd, 0, SEEK_CUR);
		get_info(&b);
		d = first_diff(src, dst, n);
		check(name,
		      p1 == off && w == (ssize_t)n && r == (ssize_t)n &&
			      p2 == off + (off_t)n && p3 == p2 && d < 0 &&
			      b.writes == a.writes + 1 &&
			      b.reads == a.reads + 1,
		      "off=%lld wrote=%zd read=%zd pos=%lld,%lld diff_at=%ld "
		      "calls r+%llu w+%llu",
		      (long long)off, w, r, (long long)p2, (long long)p3, d,
		      b.reads - a.reads, b.writes - a.writes);
	}

	/* The buffer is global: another open file sees the data. */
	fill(src, 4096, 77);
	memset(dst, 0, 4096);
	check("shared_buffer",
	      pwrite(fd, src, 4096, 200000) == 4096 &&
		      pread(fd2, dst, 4096, 200000) == 4096 &&
		      !memcmp(src, dst, 4096),
	      "pwrite on one file, pread on another");

	/* pread/pwrite leave the position alone. */
	lseek(fd, 777, SEEK_SET);
	memset(small, 0, sizeof(small));
	check("pread_pwrite_pos",
	      pwrite(fd, "abcdef", 6, 1000) == 6 &&
		      pread(fd, small, 6, 1000) == 6 &&
		      !memcmp(small, "abcdef", 6) &&
		      lseek(fd, 0, SEEK_CUR) == 777,
	      "pos=%lld", (long long)lseek(fd, 0, SEEK_CUR));

	/* Zero-length calls. */
	lseek(fd, 100, SEEK_SET);
	check("zero_length",
	      read(fd, small, 0) == 0 && write(fd, small, 0) == 0 &&
		      lseek(fd, 0, SEEK_CUR) == 100,
	      "read/write of 0 bytes");

	/* The end of the buffer: short transfers, then 0 and ENOSPC. */
	memset(small, 'z', sizeof(small));
	{
		ssize_t w = pwrite(fd, small, 7, BUF_SIZE - 3);
		ssize_t r = pread(fd, dst, 7, BUF_SIZE - 3);
		ssize_t r0 = pread(fd, dst, 7, BUF_SIZE);
		ssize_t r1 = pread(fd, dst, 7, BUF_SIZE + 100);

		check("end_short",
		      w == 3 && r == 3 && !memcmp(dst, "zzz", 3) && r0 == 0 &&
			      r1 == 0,
		      "write=%zd read=%zd at_end=%zd past_end=%zd", w, r, r0,
		      r1);
	}
	lseek(fd, BUF_SIZE - 2, SEEK_SET);
	check("end_pos",
	      read(fd, dst, 100) == 2 && lseek(fd, 0, SEEK_CUR) == BUF_SIZE &&
		      read(fd, dst, 100) == 0 &&
		      lseek(fd, 0, SEEK_CUR) == BUF_SIZE,
	      "read up to the end moves pos to %llu",
	      (unsigned long long)BUF_SIZE);

	/* readv/writev: one driver call per segment. */
	fill(src, 3000, 5);
	iov[0] = (struct iovec){ src, 1000 };
	iov[1] = (struct iovec){ src + 1000, 1 };
	iov[2] = (struct iovec){ src + 1001, 1999 };
	lseek(fd, 50000, SEEK_SET);
	{
		ssize_t w = writev(fd, iov, 3), r;

		memset(dst, 0, 3000);
		iov[0] = (struct iovec){ dst, 1999 };
		iov[1] = (struct iovec){ dst + 1999, 1 };
		iov[2] = (struct iovec){ dst + 2000, 1000 };
		lseek(fd, 50000, SEEK_SET);
		r = readv(fd, iov, 3);
		check("writev_readv",
		      w == 3000 && r == 3000 && !memcmp(src, dst, 3000) &&
			      lseek(fd, 0, SEEK_CUR) == 53000,
		      "writev=%zd readv=%zd", w, r);
	}
out:
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	free(src);
	free(dst);
}

/* ---- llseek ---------------------------------------------------------------- */

static void t_llseek(void)
{
	int fd = open_dev(O_RDWR), fd2, dupfd;
	ssize_t n;
	off_t r;
	char c;

	if (!CHECK_SYS("open", fd >= 0))
		return;
#define SEEK_CHECK(name, off, whence, want)                           \
	do {                                                          \
		r = lseek(fd, off, whence);                           \
		check(name, r == (off_t)(want), "got=%lld want=%lld", \
		      (long long)r, (long long)(want));               \
	} while (0)
	SEEK_CHECK("set_0", 0, SEEK_SET, 0);
	SEEK_CHECK("set_100", 100, SEEK_SET, 100);
	SEEK_CHECK("cur_plus", 10, SEEK_CUR, 110);
	SEEK_CHECK("cur_minus", -20, SEEK_CUR, 90);
	SEEK_CHECK("cur_0", 0, SEEK_CUR, 90);
	SEEK_CHECK("end_0", 0, SEEK_END, BUF_SIZE);
	SEEK_CHECK("end_minus", -1, SEEK_END, BUF_SIZE - 1);
	SEEK_CHECK("end_plus", 4096, SEEK_END, BUF_SIZE + 4096);
	SEEK_CHECK("set_large", 1LL << 40, SEEK_SET, 1LL << 40);
	lseek(fd, 90, SEEK_SET);
	errno = 0;
	r = lseek(fd, -91, SEEK_CUR);
	check("cur_negative",
	      r == -1 && errno == EINVAL && lseek(fd, 0, SEEK_CUR) == 90,
	      "ret=%lld errno=%d pos=%lld", (long long)r, errno,
	      (long long)lseek(fd, 0, SEEK_CUR));
	errno = 0;
	r = lseek(fd, -1, SEEK_SET);
	check("set_negative", r == -1 && errno == EINVAL, "ret=%lld errno=%d",
	      (long long)r, errno);
	errno = 0;
	r = lseek(fd, -(off_t)BUF_SIZE - 1, SEEK_END);
	check("end_negative", r == -1 && errno == EINVAL, "ret=%lld errno=%d",
	      (long long)r, errno);
	errno = 0;
	r = lseek(fd, 0x7fffffffffffffffLL, SEEK_END);
	check("end_overflow", r == -1 && errno == EINVAL, "ret=%lld errno=%d",
	      (long long)r, errno);

	/* The position follows reads and writes. */
	pwrite(fd, "0123456789", 10, 5000);
	lseek(fd, 5003, SEEK_SET);
	c = 0;
	n = read(fd, &c, 1);
	r = lseek(fd, 0, SEEK_CUR);
	check("after_read", n == 1 && c == '3' && r == 5004,
	      "read %zd byte %#x pos %lld", n, c, (long long)r);

	/* Files have their own positions; dup() shares one. */
	fd2 = open_dev(O_RDWR);
	dupfd = dup(fd);
	lseek(fd, 1234, SEEK_SET);
	lseek(fd2, 4321, SEEK_SET);
	check("per_file",
	      lseek(fd, 0, SEEK_CUR) == 1234 && lseek(fd2, 0, SEEK_CUR) == 4321,
	      "fd=%lld fd2=%lld", (long long)lseek(fd, 0, SEEK_CUR),
	      (long long)lseek(fd2, 0, SEEK_CUR));
	check("dup_shares", lseek(dupfd, 0, SEEK_CUR) == 1234, "dup pos=%lld",
	      (long long)lseek(dupfd, 0, SEEK_CUR));
	close(dupfd);
	close(fd2);
	close(fd);
#undef SEEK_CHECK
}

/* ---- ioctl ------------------------------------------------------------------ */

static void t_ioctl(void)
{
	static const uint64_t vals[] = { 0, 1, 0xdeadbeefcafebabeULL, ~0ULL };
	struct devfile_test_info a, b;
	struct devfile_test_xor x;
	uint64_t v, got;
	long r, r1, r2;
	unsigned int i;
	char name[32];
	int fd = open_dev(O_RDWR);

	if (!CHECK_SYS("open", fd >= 0))
		return;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		v = vals[i];
		got = 0x5555;
		r1 = xioctl(fd, DEVFILE_TEST_IOC_SET_VALUE, &v);
		r2 = xioctl(fd, DEVFILE_TEST_IOC_GET_VALUE, &got);
		snprintf(name, sizeof(name), "value_%u", i);
		check(name, r1 == 0 && r2 == 0 && got == v,
		      "W then R: set %#llx got %#llx ret %ld,%ld",
		      (unsigned long long)v, (unsigned long long)got, r1, r2);
	}
	/* The value is global: another file reads it. */
	got = 0;
	r = xioctl(ctl, DEVFILE_TEST_IOC_GET_VALUE, &got);
	check("value_global", r == 0 && got == ~0ULL, "got %#llx",
	      (unsigned long long)got);

	x = (struct devfile_test_xor){ 0x0123456789abcdefULL,
				       0xff00ff00ff00ff00ULL, 0 };
	r = xioctl(fd, DEVFILE_TEST_IOC_XOR, &x);
	check("xor",
	      r == 0 &&
		      x.out ==
			      (0x0123456789abcdefULL ^ 0xff00ff00ff00ff00ULL) &&
		      x.in == 0x0123456789abcdefULL &&
		      x.key == 0xff00ff00ff00ff00ULL,
	      "WR: out %#llx ret %ld", x.out, r);

	r = xioctl(fd, DEVFILE_TEST_IOC_ECHO, (void *)12345UL);
	r1 = xioctl(fd, DEVFILE_TEST_IOC_ECHO, (void *)0UL);
	r2 = xioctl(fd, DEVFILE_TEST_IOC_ECHO, (void *)0x80000000UL);
	check("echo_value", r == 12345 && r1 == 0 && r2 == -EINVAL,
	      "by value: %ld %ld %ld", r, r1, r2);

	/* GET_INFO counts every ioctl, itself included. */
	get_info(&a);
	xioctl(fd, DEVFILE_TEST_IOC_GET_VALUE, &got);
	xioctl(fd, DEVFILE_TEST_IOC_ECHO, (void *)1UL);
	xioctl(fd, DEVFILE_TEST_IOC_XOR, &x);
	get_info(&b);
	check("counted",
	      b.ioctls == a.ioctls + 4 && b.buf_size == BUF_SIZE &&
		      b.mmio_size == DEVFILE_TEST_MMIO_SIZE,
	      "R: ioctls +%llu (want 4) buf_size=%llu mmio_size=%llu "
	      "mmio_uc=%llu",
	      b.ioctls - a.ioctls, b.buf_size, b.mmio_size, b.mmio_uc);

	/* Bad argument pointers. */
	r = xioctl(fd, DEVFILE_TEST_IOC_SET_VALUE, NULL);
	r1 = xioctl(fd, DEVFILE_TEST_IOC_GET_INFO, (void *)1UL);
	r2 = xioctl(fd, DEVFILE_TEST_IOC_XOR, (void *)KERNEL_ADDR);
	check("bad_pointer", r == -EFAULT && r1 == -EFAULT && r2 == -EFAULT,
	      "W NULL %ld, R 0x1 %ld, WR kernel %ld", r, r1, r2);

	/* RESET (_IO): the value goes back to 0. */
	v = 42;
	xioctl(fd, DEVFILE_TEST_IOC_SET_VALUE, &v);
	r = xioctl(fd, DEVFILE_TEST_IOC_RESET, NULL);
	got = 1;
	xioctl(fd, DEVFILE_TEST_IOC_GET_VALUE, &got);
	check("reset", r == 0 && got == 0, "ret %ld value %llu", r,
	      (unsigned long long)got);
	close(fd);
}

/* ---- nested ------------------------------------------------------------- */

static long nested_call(int fd, struct devfile_test_nested *o,
			struct devfile_test_nested_inner *in, uint8_t *buf,
			size_t len)
{
	in->buf_ptr = (uintptr_t)buf;
	in->len = len;
	o->inner_ptr = (uintptr_t)in;
	o->result = 0xbad;
	return xioctl(fd, DEVFILE_TEST_IOC_NESTED, o);
}

static void nested_len(int fd, size_t len, size_t misalign)
{
	struct devfile_test_nested o;
	struct devfile_test_nested_inner in;
	uint8_t *mem = malloc(len + PAGE + 1), *buf, *orig;
	uint64_t sum = 0;
	char name[32];
	size_t i;
	long r;

	snprintf(name, sizeof(name), "len_%zu", len);
	orig = malloc(len + 1);
	if (!mem || !orig) {
		check(name, 0, "malloc");
		goto out;
	}
	/* Start misalign bytes before a page end: the buffer crosses it. */
	buf = (uint8_t *)(((uintptr_t)mem + PAGE) & ~(PAGE - 1)) - misalign;
	fill(buf, len, len);
	memcpy(orig, buf, len);
	for (i = 0; i < len; i++)
		sum += orig[i];
	r = nested_call(fd, &o, &in, buf, len);
	for (i = 0; i < len; i++) {
		if (buf[i] != (uint8_t)(orig[i] + 1))
			break;
	}
	check(name, r == 0 && o.result == sum && i == len,
	      "ret %ld sum %llu want %llu bytes ok %zu/%zu", r,
	      (unsigned long long)o.result, (unsigned long long)sum, i, len);
out:
	free(mem);
	free(orig);
}

static void t_nested(void)
{
	struct devfile_test_nested o;
	struct devfile_test_nested_inner in;
	uint8_t stackbuf[300], *map;
	long r, r1, r2;
	size_t i;
	int fd = open_dev(O_RDWR), ok;

	if (!CHECK_SYS("open", fd >= 0))
		return;
	nested_len(fd, 0, 0);
	nested_len(fd, 1, 1);
	nested_len(fd, 100, 50);
	nested_len(fd, 4096, 3);
	nested_len(fd, DEVFILE_TEST_NESTED_MAX, 7);

	/* On the stack, bytes that wrap from 255 to 0. */
	memset(stackbuf, 0xff, sizeof(stackbuf));
	r = nested_call(fd, &o, &in, stackbuf, sizeof(stackbuf));
	for (i = 0; i < sizeof(stackbuf) && !stackbuf[i]; i++)
		;
	check("stack_wrap",
	      r == 0 && o.result == 255ULL * sizeof(stackbuf) &&
		      i == sizeof(stackbuf),
	      "ret %ld sum %llu", r, (unsigned long long)o.result);

	r = nested_call(fd, &o, &in, stackbuf, DEVFILE_TEST_NESTED_MAX + 1);
	check("too_long", r == -EINVAL, "len %lu: ret %ld",
	      DEVFILE_TEST_NESTED_MAX + 1, r);

	/* Bad pointers at each level. */
	o.inner_ptr = 0;
	r = xioctl(fd, DEVFILE_TEST_IOC_NESTED, &o);
	o.inner_ptr = KERNEL_ADDR;
	r1 = xioctl(fd, DEVFILE_TEST_IOC_NESTED, &o);
	in.buf_ptr = 8;
	in.len = 16;
	o.inner_ptr = (uintptr_t)&in;
	r2 = xioctl(fd, DEVFILE_TEST_IOC_NESTED, &o);
	check("bad_inner", r == -EFAULT && r1 == -EFAULT && r2 == -EFAULT,
	      "inner NULL %ld, inner kernel %ld, buf 0x8 %ld", r, r1, r2);

	/*
	 * The inner struct and the buffer inside a mapping of the device's
	 * own buffer: copy_from_user reads device memory through the
	 * caller's mapping; read() shows the increment.
	 */
	map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   DEVFILE_TEST_MAP_RAM_UPFRONT + 0x100000);
	if (map == MAP_FAILED) {
		skip("in_device_map", "mmap failed: errno %d (see mmap tests)",
		     errno);
	} else {
		struct devfile_test_nested_inner *pin = (void *)map;
		uint8_t back[64];

		memset(map + PAGE - 32, 9, 64);
		pin->buf_ptr = (uintptr_t)(map + PAGE - 32);
		pin->len = 64;
		o.inner_ptr = (uintptr_t)pin;
		r = xioctl(fd, DEVFILE_TEST_IOC_NESTED, &o);
		ok = pread(fd, back, 64, 0x100000 + PAGE - 32) == 64;
		for (i = 0; ok && i < 64; i++)
			ok = back[i] == 10;
		check("in_device_map", r == 0 && o.result == 9 * 64 && ok,
		      "ret %ld sum %llu read back %s", r,
		      (unsigned long long)o.result, ok ? "ok" : "wrong");
		munmap(map, 2 * PAGE);
	}
	close(fd);
}

/* ---- peek --------------------------------------------------------------------- */

static long peek(int fd, uint64_t addr, uint64_t *val)
{
	struct devfile_test_peek p = { addr, 0 };
	long r = xioctl(fd, DEVFILE_TEST_IOC_PEEK, &p);

	*val = p.value;
	return r;
}

static void t_peek(void)
{
	static volatile uint64_t data = 0x1122334455667788ULL;
	uint64_t stackval = 0xa5a5a5a5deadbeefULL, v;
	uint8_t *pg;
	long r;
	int fd = open_dev(O_RDWR);

	if (!CHECK_SYS("open", fd >= 0))
		return;
	r = peek(fd, (uintptr_t)&data, &v);
	check("valid_data", r == 0 && v == data, "ret %ld value %#llx", r,
	      (unsigned long long)v);
	r = peek(fd, (uintptr_t)&stackval, &v);
	check("valid_stack", r == 0 && v == stackval, "ret %ld value %#llx", r,
	      (unsigned long long)v);

	/* A fresh anonymous page, touched only by the driver. */
	pg = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!CHECK_SYS("mmap_anon", pg != MAP_FAILED)) {
		close(fd);
		return;
	}
	r = peek(fd, (uintptr_t)pg + 8, &v);
	check("valid_untouched", r == 0 && v == 0, "ret %ld value %#llx", r,
	      (unsigned long long)v);
	memcpy(pg + PAGE - 4, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	r = peek(fd, (uintptr_t)pg + PAGE - 4, &v);
	check("valid_cross_page", r == 0 && v == 0x0807060504030201ULL,
	      "ret %ld value %#llx", r, (unsigned long long)v);

	/* Unmap the second page: now it is a hole in the caller. */
	munmap(pg + PAGE, PAGE);
	r = peek(fd, (uintptr_t)pg + PAGE, &v);
	check("unmapped", r == -EFAULT, "ret %ld", r);
	r = peek(fd, (uintptr_t)pg + PAGE - 4, &v);
	check("straddle_unmapped", r == -EFAULT, "ret %ld", r);
	mprotect(pg, PAGE, PROT_NONE);
	r = peek(fd, (uintptr_t)pg, &v);
	check("prot_none", r == -EFAULT, "ret %ld", r);
	munmap(pg, PAGE);
	r = peek(fd, (uintptr_t)pg, &v);
	check("unmapped_2", r == -EFAULT, "ret %ld", r);

	r = peek(fd, KERNEL_ADDR, &v);
	check("kernel", r == -EFAULT, "addr %#llx ret %ld", KERNEL_ADDR, r);
	r = peek(fd, 0xffff888000000000ULL, &v);
	check("kernel_directmap", r == -EFAULT, "ret %ld", r);
	r = peek(fd, 0, &v);
	check("null", r == -EFAULT, "ret %ld", r);
	r = peek(fd, 0x0000800000000000ULL - 4, &v);
	check("noncanonical_edge", r == -EFAULT, "ret %ld", r);

	/*
	 * A page of another process: a child maps a secret at an address
	 * this process does not map. The driver, acting for this process,
	 * must not reach it.
	 */
	{
		void *const at = (void *)0x5a5a00000000ULL;
		int pfd[2];
		pid_t pid;
		char c = 0;

		if (!CHECK_SYS("other_setup", !pipe(pfd)))
			goto out;
		pid = fork();
		if (pid == 0) {
			uint64_t *q = mmap(at, PAGE, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS |
						   MAP_FIXED_NOREPLACE,
					   -1, 0);

			if (q != MAP_FAILED)
				*q = 0x5ec2e75ec2e7ULL;
			c = q != MAP_FAILED ? 'm' : 'x';
			if (write(pfd[1], &c, 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		if (pid > 0 && read(pfd[0], &c, 1) == 1 && c == 'm') {
			r = peek(fd, (uintptr_t)at, &v);
			check("other_process", r == -EFAULT,
			      "child's page at %p: ret %ld value %#llx", at, r,
			      r ? 0ULL : (unsigned long long)v);
		} else {
			check("other_process", 0, "child setup failed");
		}
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		close(pfd[0]);
		close(pfd[1]);
	}
out:
	close(fd);
}

/* ---- errors --------------------------------------------------------------- */

static void t_errors(void)
{
	static const int errs[] = { EPERM,  ENOENT, EIO,    EAGAIN,    EBUSY,
				    EINVAL, ENOSPC, ENODEV, ETIMEDOUT, 133 };
	static const int bad_errs[] = { 0, -5, 512, 100000 };
	struct devfile_test_mmio m;
	char name[32], buf[16];
	unsigned int i;
	long r, r1, r2;
	ssize_t s;
	void *p;
	int fd = open_dev(O_RDWR), fd2;

	if (!CHECK_SYS("open", fd >= 0))
		return;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		int e = errs[i];

		snprintf(name, sizeof(name), "fail_%d", e);
		errno = 0;
		r = ioctl(fd, DEVFILE_TEST_IOC_FAIL, &e);
		check(name, r == -1 && errno == errs[i], "ret %ld errno %d", r,
		      errno);
	}
	for (i = 0; i < sizeof(bad_errs) / sizeof(bad_errs[0]); i++) {
		int e = bad_errs[i];

		snprintf(name, sizeof(name), "fail_bad_%d", e);
		r = xioctl(fd, DEVFILE_TEST_IOC_FAIL, &e);
		check(name, r == -EINVAL, "ret %ld", r);
	}
	r = xioctl(fd, _IO(DEVFILE_TEST_IOC_MAGIC, 200), NULL);
	r1 = xioctl(fd, _IOR(DEVFILE_TEST_IOC_MAGIC, 1, int), buf);
	r2 = xioctl(fd, _IOWR('x', 4, struct devfile_test_xor), buf);
	check("unknown_ioctl", r == -ENOTTY && r1 == -ENOTTY && r2 == -ENOTTY,
	      "nr 200 %ld, wrong size %ld, wrong magic %ld", r, r1, r2);

	errno = 0;
	s = pwrite(fd, "x", 1, BUF_SIZE);
	check("write_past_end", s == -1 && errno == ENOSPC, "ret %zd errno %d",
	      s, errno);
	lseek(fd, BUF_SIZE + 10, SEEK_SET);
	errno = 0;
	s = write(fd, "x", 1);
	check("write_pos_past_end", s == -1 && errno == ENOSPC,
	      "ret %zd errno %d", s, errno);

	errno = 0;
	r = lseek(fd, 0, 3 /* SEEK_DATA: reaches the driver */);
	r1 = errno;
	errno = 0;
	r2 = lseek(fd, 0, 77);
	check("bad_whence",
	      r == -1 && r1 == EINVAL && r2 == -1 && errno == EINVAL,
	      "whence 3: errno %ld, whence 77: errno %d", r1, errno);

	errno = 0;
	s = pread(fd, buf, 1, -1);
	check("negative_pos", s == -1 && errno == EINVAL, "ret %zd errno %d", s,
	      errno);

	errno = 0;
	s = pread(fd, low_ptr, 16, 0);
	r = s == -1 ? errno : 0;
	errno = 0;
	s = pwrite(fd, (void *)KERNEL_ADDR, 16, 0);
	r1 = s == -1 ? errno : 0;
	check("bad_buffer", r == EFAULT && r1 == EFAULT,
	      "read to 0x8 errno %ld, write from kernel errno %ld", r, r1);

	r = xioctl(fd, DEVFILE_TEST_IOC_SET_MODE, &(int){ 2 });
	r1 = xioctl(fd, DEVFILE_TEST_IOC_SET_MODE, &(int){ -1 });
	check("bad_mode", r == -EINVAL && r1 == -EINVAL, "2: %ld, -1: %ld", r,
	      r1);

	m = (struct devfile_test_mmio){ 3, 0 };
	r = xioctl(fd, DEVFILE_TEST_IOC_MMIO_READ, &m);
	m = (struct devfile_test_mmio){ DEVFILE_TEST_MMIO_SIZE, 0 };
	r1 = xioctl(fd, DEVFILE_TEST_IOC_MMIO_WRITE, &m);
	m = (struct devfile_test_mmio){ ~7ULL, 0 };
	r2 = xioctl(fd, DEVFILE_TEST_IOC_MMIO_READ, &m);
	check("bad_mmio_off", r == -EINVAL && r1 == -EINVAL && r2 == -EINVAL,
	      "unaligned %ld, at size %ld, huge %ld", r, r1, r2);

	/* mmap: private, outside a region, past a region's end. */
	errno = 0;
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	r = p == MAP_FAILED ? errno : 0;
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	errno = 0;
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0x100000000LL);
	r1 = p == MAP_FAILED ? errno : 0;
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	errno = 0;
	p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd,
		 DEVFILE_TEST_MAP_MMIO_UPFRONT + DEVFILE_TEST_MMIO_SIZE - PAGE);
	r2 = p == MAP_FAILED ? errno : 0;
	if (p != MAP_FAILED)
		munmap(p, 2 * PAGE);
	errno = 0;
	p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, BUF_SIZE - PAGE);
	check("bad_mmap",
	      r == EINVAL && r1 == EINVAL && r2 == EINVAL && p == MAP_FAILED &&
		      errno == EINVAL,
	      "private %ld, 4 GiB %ld, past mmio end %ld, past buffer end %d",
	      r, r1, r2, p == MAP_FAILED ? errno : 0);
	if (p != MAP_FAILED)
		munmap(p, 2 * PAGE);

	/* Access modes are enforced before the driver. */
	fd2 = open_dev(O_RDONLY);
	errno = 0;
	s = write(fd2, "x", 1);
	check("write_rdonly", s == -1 && errno == EBADF, "ret %zd errno %d", s,
	      errno);
	close(fd2);
	fd2 = open_dev(O_WRONLY);
	errno = 0;
	s = read(fd2, buf, 1);
	check("read_wronly", s == -1 && errno == EBADF, "ret %zd errno %d", s,
	      errno);
	close(fd2);

	close(fd);
	errno = 0;
	s = read(fd, buf, 1);
	check("read_closed", s == -1 && errno == EBADF, "ret %zd errno %d", s,
	      errno);
	errno = 0;
	r = ioctl(fd, DEVFILE_TEST_IOC_GET_VALUE, buf);
	check("ioctl_closed", r == -1 && errno == EBADF, "ret %ld errno %d", r,
	      errno);
}

/* ---- poll --------------------------------------------------------------------- */

struct reader_arg {
	int fd;
	char buf[256];
	ssize_t ret;
	int err;
};

static void *reader_thread(void *p)
{
	struct reader_arg *a = p;

	a->ret = read(a->fd, a->buf, sizeof(a->buf));
	a->err = a->ret < 0 ? errno : 0;
	return NULL;
}

struct poller_arg {
	int fd;
	int ret;
	short revents;
	uint64_t ms;
};

static void *poller_thread(void *p)
{
	struct poller_arg *a = p;
	struct pollfd pfd = { a->fd, POLLIN, 0 };
	uint64_t t0 = now_ms();

	a->ret = poll(&pfd, 1, WAIT_MS);
	a->revents = pfd.revents;
	a->ms = now_ms() - t0;
	return NULL;
}

/* Join t, or interrupt it (SIGUSR1, no SA_RESTART) after ms. */
static int join_within(pthread_t t, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (!pthread_timedjoin_np(t, NULL, &ts))
		return 1;
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	return 0;
}

static void t_poll(void)
{
	static const char msg[] = "wake-up-data";
	struct devfile_test_info in;
	struct pollfd pfd;
	struct reader_arg ra;
	struct poller_arg pa;
	pthread_t th;
	uint8_t *src = malloc(DEVFILE_TEST_FIFO_SIZE * 2);
	uint8_t *dst = malloc(DEVFILE_TEST_FIFO_SIZE * 2);
	int r = -1, w = -1, nb = -1, bm = -1, ep = -1, ok, joined;
	ssize_t s, s2;
	char buf[64];

	drain_fifo();
	r = open_dev(O_RDWR);
	w = open_dev(O_RDWR);
	nb = open_dev(O_RDWR | O_NONBLOCK);
	bm = open_dev(O_RDWR);
	if (!CHECK_SYS("setup", src && dst && r >= 0 && w >= 0 && nb >= 0 &&
					bm >= 0 &&
					!set_mode(r, DEVFILE_TEST_MODE_PIPE) &&
					!set_mode(w, DEVFILE_TEST_MODE_PIPE) &&
					!set_mode(nb, DEVFILE_TEST_MODE_PIPE)))
		goto out;

	pfd = (struct pollfd){ r, POLLIN, 0 };
	s = poll(&pfd, 1, 100);
	check("empty_timeout", s == 0 && pfd.revents == 0,
	      "poll(POLLIN, 100ms) = %zd revents %#x", s, pfd.revents);
	pfd = (struct pollfd){ r, POLLIN | POLLOUT, 0 };
	s = poll(&pfd, 1, 0);
	check("pollout_always", s == 1 && pfd.revents == POLLOUT,
	      "ret %zd revents %#x", s, pfd.revents);

	errno = 0;
	s = read(nb, buf, sizeof(buf));
	check("nonblock_eagain", s == -1 && errno == EAGAIN, "ret %zd errno %d",
	      s, errno);

	/* A reader blocks; poll sees nothing; a write wakes the reader. */
	memset(&ra, 0, sizeof(ra));
	ra.fd = r;
	pthread_create(&th, NULL, reader_thread, &ra);
	ok = WAIT_INFO(&in, in.blocked_readers == 1, WAIT_MS);
	check("reader_blocks", ok, "blocked_readers=%llu", in.blocked_readers);
	pfd = (struct pollfd){ r, POLLIN, 0 };
	s = poll(&pfd, 1, 200);
	check("blocked_poll_timeout", s == 0, "poll(POLLIN, 200ms) = %zd", s);
	s2 = write(w, msg, sizeof(msg));
	joined = join_within(th, WAIT_MS);
	check("reader_wakes",
	      s2 == sizeof(msg) && joined && ra.ret == sizeof(msg) &&
		      !memcmp(ra.buf, msg, sizeof(msg)),
	      "write %zd, joined %d, read %zd errno %d", s2, joined, ra.ret,
	      ra.err);
	ok = WAIT_INFO(&in, in.blocked_readers == 0, WAIT_MS);
	check("reader_unblocked", ok && in.fifo_bytes == 0,
	      "blocked_readers=%llu fifo_bytes=%llu", in.blocked_readers,
	      in.fifo_bytes);

	/* Data waiting: POLLIN before the read, none after. */
	s2 = write(w, "abc", 3);
	pfd = (struct pollfd){ r, POLLIN | POLLRDNORM, 0 };
	s = poll(&pfd, 1, 0);
	check("pollin_before_read",
	      s2 == 3 && s == 1 && (pfd.revents & POLLIN) &&
		      (pfd.revents & POLLRDNORM),
	      "ret %zd revents %#x", s, pfd.revents);
	pfd = (struct pollfd){ bm, POLLIN | POLLOUT, 0 };
	s = poll(&pfd, 1, 0);
	check("buffer_mode_no_pollin", s == 1 && pfd.revents == POLLOUT,
	      "buffer-mode file: revents %#x", pfd.revents);
	memset(buf, 0, sizeof(buf));
	s = read(r, buf, sizeof(buf));
	pfd = (struct pollfd){ r, POLLIN, 0 };
	s2 = poll(&pfd, 1, 0);
	check("drained", s == 3 && !memcmp(buf, "abc", 3) && s2 == 0,
	      "read %zd, poll after %zd", s, s2);

	/* A thread blocked in poll wakes on a write. */
	memset(&pa, 0, sizeof(pa));
	pa.fd = r;
	pthread_create(&th, NULL, poller_thread, &pa);
	sleep_ms(100);
	s2 = write(w, "p", 1);
	joined = join_within(th, WAIT_MS + 2000);
	check("poll_wakes",
	      joined && pa.ret == 1 && (pa.revents & POLLIN) && pa.ms < WAIT_MS,
	      "poll %d revents %#x after %llu ms", pa.ret, pa.revents,
	      (unsigned long long)pa.ms);
	read(r, buf, sizeof(buf));

	/* epoll: a registered waiter wakes on a write. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 };
		int n0, n1;

		epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev);
		n0 = epoll_wait(ep, &ev, 1, 50);
		write(w, "e", 1);
		memset(&ev, 0, sizeof(ev));
		n1 = epoll_wait(ep, &ev, 1, WAIT_MS);
		check("epoll",
		      n0 == 0 && n1 == 1 && (ev.events & EPOLLIN) &&
			      ev.data.u64 == 7,
		      "before write %d, after %d events %#x", n0, n1,
		      ev.events);
		read(r, buf, sizeof(buf));
	}

	/* Fill the FIFO: 64 KiB fit, one byte more does not. */
	fill(src, DEVFILE_TEST_FIFO_SIZE * 2, 3);
	s = write(w, src, DEVFILE_TEST_FIFO_SIZE + 100);
	errno = 0;
	s2 = write(w, src, 1);
	get_info(&in);
	check("fifo_full",
	      s == (ssize_t)DEVFILE_TEST_FIFO_SIZE && s2 == -1 &&
		      errno == EAGAIN &&
		      in.fifo_bytes == DEVFILE_TEST_FIFO_SIZE,
	      "write %zd, then %zd errno %d, fifo_bytes %llu", s, s2, errno,
	      in.fifo_bytes);
	s = read(r, dst, DEVFILE_TEST_FIFO_SIZE * 2);
	check("fifo_content",
	      s == (ssize_t)DEVFILE_TEST_FIFO_SIZE &&
		      !memcmp(src, dst, DEVFILE_TEST_FIFO_SIZE),
	      "read %zd", s);
	/* Wrap around the ring. */
	{
		ssize_t a = write(w, src, 40000);
		ssize_t b = read(r, dst, 30000);
		ssize_t c = write(w, src + 40000, 50000);
		ssize_t d = read(nb, dst + 30000, 70000);

		check("fifo_wrap",
		      a == 40000 && b == 30000 && c == 50000 && d == 60000 &&
			      !memcmp(src, dst, 90000),
		      "write %zd read %zd write %zd read %zd", a, b, c, d);
	}
out:
	if (ep >= 0)
		close(ep);
	if (r >= 0)
		close(r);
	if (w >= 0)
		close(w);
	if (nb >= 0)
		close(nb);
	if (bm >= 0)
		close(bm);
	drain_fifo();
	free(src);
	free(dst);
}

/* ---- fasync --------------------------------------------------------------- */

static volatile sig_atomic_t sigio_count, sigrt_count, sigrt_fd, sigrt_code;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

static void on_sigrt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	sigrt_count++;
	sigrt_fd = si->si_fd;
	sigrt_code = si->si_code;
}

static int wait_flag(volatile sig_atomic_t *v, int want, long ms)
{
	uint64_t end = now_ms() + ms;

	while (*v < want && now_ms() < end)
		sleep_ms(1);
	return *v >= want;
}

static void t_fasync(void)
{
	struct devfile_test_info a, b, c;
	struct sigaction sa;
	char buf[16];
	int fd = -1, w = -1, ok, fl;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigio;
	sigaction(SIGIO, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = NULL;
	sa.sa_sigaction = on_sigrt;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 1, &sa, NULL);

	drain_fifo();
	get_info(&a);
	fd = open_dev(O_RDWR);
	w = open_dev(O_RDWR);
	if (!CHECK_SYS("setup", fd >= 0 && w >= 0 &&
					!set_mode(fd, DEVFILE_TEST_MODE_PIPE) &&
					!set_mode(w, DEVFILE_TEST_MODE_PIPE)))
		goto out;
	fl = fcntl(fd, F_GETFL);
	ok = fcntl(fd, F_SETOWN, getpid()) == 0 &&
	     fcntl(fd, F_SETFL, fl | O_ASYNC) == 0;
	get_info(&b);
	check("register", ok && b.fasync == a.fasync + 1,
	      "F_SETOWN + O_ASYNC: fasync %llu->%llu", a.fasync, b.fasync);

	sigio_count = 0;
	write(w, "s", 1);
	ok = wait_flag(&sigio_count, 1, WAIT_MS);
	check("sigio", ok, "SIGIO count %d after a write", (int)sigio_count);
	read(fd, buf, sizeof(buf));

	/* F_SETSIG: a queued signal that names the fd and POLL_IN. */
	sigrt_count = 0;
	sigrt_fd = -1;
	fcntl(fd, F_SETSIG, SIGRTMIN + 1);
	write(w, "t", 1);
	ok = wait_flag(&sigrt_count, 1, WAIT_MS);
	check("setsig_info", ok && sigrt_fd == fd && sigrt_code == POLL_IN,
	      "count %d si_fd %d (want %d) si_code %d (want %d)",
	      (int)sigrt_count, (int)sigrt_fd, fd, (int)sigrt_code, POLL_IN);
	fcntl(fd, F_SETSIG, 0);
	read(fd, buf, sizeof(buf));

	/* Off again: counted, and no more signals. */
	fcntl(fd, F_SETFL, fl & ~O_ASYNC);
	get_info(&c);
	sigio_count = 0;
	write(w, "u", 1);
	sleep_ms(200);
	check("unregister", c.fasync == a.fasync && sigio_count == 0,
	      "fasync %llu, SIGIO after %d", c.fasync, (int)sigio_count);
	read(fd, buf, sizeof(buf));

	/* Closing a registered file unregisters it. */
	fcntl(fd, F_SETFL, fl | O_ASYNC);
	close(fd);
	fd = -1;
	get_info(&c);
	check("close_unregisters", c.fasync == a.fasync, "fasync %llu",
	      c.fasync);
out:
	if (fd >= 0)
		close(fd);
	if (w >= 0)
		close(w);
	drain_fifo();
}

/* ---- mmap ------------------------------------------------------------------- */

static int mmio_rd(int fd, uint64_t off, uint64_t *v)
{
	struct devfile_test_mmio m = { off, 0 };
	int r = (int)xioctl(fd, DEVFILE_TEST_IOC_MMIO_READ, &m);

	*v = m.value;
	return r;
}

static int mmio_wr(int fd, uint64_t off, uint64_t v)
{
	struct devfile_test_mmio m = { off, v };

	return (int)xioctl(fd, DEVFILE_TEST_IOC_MMIO_WRITE, &m);
}

/*
 * Compare the mapping (len bytes at region offset roff) with the device:
 * read() for RAM, MMIO_READ at two words per page for MMIO. Returns the
 * first differing offset or -1.
 */
static long map_vs_dev(int fd, int mmio, volatile uint8_t *map, uint64_t roff,
		       size_t len, uint8_t *tmp)
{
	size_t i;

	if (!mmio) {
		if (pread(fd, tmp, len, roff) != (ssize_t)len)
			return 0;
		return first_diff((const void *)map, tmp, len);
	}
	for (i = 0; i < len; i += PAGE / 2) {
		uint64_t v, off = i + ((i / (PAGE / 2)) % 32) * 8;

		if (mmio_rd(fd, roff + off, &v) ||
		    v != *(volatile uint64_t *)(map + off))
			return (long)off;
	}
	return -1;
}

static void t_mmap(uint64_t region, int mmio)
{
	size_t len = mmio ? DEVFILE_TEST_MMIO_SIZE : 256 * 1024;
	uint64_t roff = mmio ? 0 : 64 * 1024, last;
	struct devfile_test_info a, b;
	volatile uint8_t *map = MAP_FAILED, *map2 = MAP_FAILED;
	volatile uint64_t *w64;
	uint8_t *tmp = malloc(len);
	uint64_t seed = region >> 30, v;
	long d;
	size_t i;
	pid_t pid;
	int fd, st = 0, ok;

	fd = open_dev(O_RDWR);
	if (!CHECK_SYS("open", fd >= 0 && tmp))
		goto out;
	get_info(&a);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   region + roff);
	if (!check("mmap", map != MAP_FAILED, "len %zu at %#llx: errno %d", len,
		   (unsigned long long)(region + roff),
		   map == MAP_FAILED ? errno : 0))
		goto out;
	get_info(&b);
	check("counted",
	      b.active_mmaps == a.active_mmaps + 1 &&
		      b.mapped_pages == a.mapped_pages + len / PAGE,
	      "active_mmaps %llu->%llu mapped_pages %llu->%llu", a.active_mmaps,
	      b.active_mmaps, a.mapped_pages, b.mapped_pages);

	/* Mapping -> device. */
	w64 = (volatile uint64_t *)map;
	fill(tmp, len, seed + 10);
	for (i = 0; i < len / 8; i++)
		w64[i] = ((uint64_t *)tmp)[i];
	d = map_vs_dev(fd, mmio, map, roff, len, tmp);
	check("map_to_dev", d < 0,
	      "wrote %zu bytes through the mapping, "
	      "%s differs at %ld",
	      len, mmio ? "MMIO_READ" : "read()", d);

	/* Device -> mapping. */
	if (!mmio) {
		fill(tmp, len, seed + 20);
		ok = pwrite(fd, tmp, len, roff) == (ssize_t)len;
		d = first_diff((const void *)map, tmp, len);
	} else {
		ok = 1;
		d = -1;
		for (i = 0; i < len && ok; i += PAGE / 2) {
			v = 0xabcd000000000000ULL ^ (i * 0x10001);
			ok = !mmio_wr(fd, roff + i, v);
			if (ok && *(volatile uint64_t *)(map + i) != v)
				d = (long)i;
		}
	}
	check("dev_to_map", ok && d < 0, "%s then load: differs at %ld",
	      mmio ? "MMIO_WRITE" : "write()", d);

	/* A second mapping of the region's last page sees the same memory. */
	last = (mmio ? DEVFILE_TEST_MMIO_SIZE : BUF_SIZE) - PAGE;
	map2 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    region + last);
	if (check("second_map", map2 != MAP_FAILED,
		  "last page at %#llx: "
		  "errno %d",
		  (unsigned long long)last, map2 == MAP_FAILED ? errno : 0)) {
		if (mmio) {
			*(volatile uint64_t *)(map2 + 16) = 0x5151515151ULL;
			ok = !mmio_rd(fd, last + 16, &v) &&
			     v == 0x5151515151ULL;
			ok = ok && *(volatile uint64_t *)(map + last + 16) ==
					   0x5151515151ULL;
		} else {
			*(volatile uint64_t *)(map2 + 16) = 0x5151515151ULL;
			ok = pread(fd, &v, 8, last + 16) == 8 &&
			     v == 0x5151515151ULL;
		}
		check("second_map_data", ok, "store through it, load back: %s",
		      ok ? "same" : "differs");
	}

	/* fork: the child's copy shares the memory, and is counted. */
	w64[0] = 0x1111;
	w64[1] = 0;
	pid = fork();
	if (pid == 0) {
		int good = w64[0] == 0x1111;

		w64[1] = 0x2222;
		_exit(good ? 0 : 1);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	get_info(&b);
	check("fork",
	      pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		      w64[1] == 0x2222 && b.active_mmaps == a.active_mmaps + 2,
	      "child status %#x, child's store %s, active_mmaps %llu", st,
	      w64[1] == 0x2222 ? "seen" : "lost", b.active_mmaps);

	munmap((void *)map, len);
	map = MAP_FAILED;
	if (map2 != MAP_FAILED)
		munmap((void *)map2, PAGE);
	map2 = MAP_FAILED;
	get_info(&b);
	check("munmap",
	      b.active_mmaps == a.active_mmaps &&
		      b.mapped_pages == a.mapped_pages,
	      "active_mmaps %llu mapped_pages %llu", b.active_mmaps,
	      b.mapped_pages);
	/* The data stays in the device after munmap. */
	if (!mmio) {
		ok = pread(fd, &v, 8, roff) == 8 && v == 0x1111;
	} else {
		ok = !mmio_rd(fd, roff, &v) && v == 0x1111;
	}
	check("data_kept", ok, "word 0 after munmap %#llx",
	      (unsigned long long)v);
out:
	if (map != MAP_FAILED)
		munmap((void *)map, len);
	if (map2 != MAP_FAILED)
		munmap((void *)map2, PAGE);
	if (fd >= 0)
		close(fd);
	free(tmp);
}

static void t_mmap_ram_fault(void)
{
	t_mmap(DEVFILE_TEST_MAP_RAM_FAULT, 0);
}

static void t_mmap_ram_upfront(void)
{
	t_mmap(DEVFILE_TEST_MAP_RAM_UPFRONT, 0);
}

static void t_mmap_mmio_upfront(void)
{
	t_mmap(DEVFILE_TEST_MAP_MMIO_UPFRONT, 1);
}

static void t_mmap_mmio_fault(void)
{
	t_mmap(DEVFILE_TEST_MAP_MMIO_FAULT, 1);
}

/* ---- revoke ------------------------------------------------------------------ */

/*
 * Revocation (issue 10): the device moves the pages of its movable region
 * (MOVE, as TTM moves a buffer object) while a child writes to them. Each
 * MOVE zaps every mapping of the region, fills the replaced pages with a
 * marker (their next owner's data) and reports how many bytes of the
 * pages replaced so far changed since: a write that reached a frame after
 * the device moved away from it. Through forwarding the guest's
 * zero-copy mapping must lose the old frames before MOVE returns, and
 * fault the new ones in. Natively it is what the kernel does anyway.
 */
#define REVOKE_MOVES 20
#define REVOKE_WAIT_MS 2000
#define MOV_LEN ((size_t)DEVFILE_TEST_MOVABLE_PAGES * PAGE)
#define PAGE_WORDS (PAGE / 8)

/* Shared (anonymous) between the parent and the writer child. */
struct revoke_shared {
	volatile uint64_t stop;
	volatile uint64_t progress; /* the last value written */
	volatile uint64_t landed; /* the last one word 0 read back */
};

/*
 * Write an increasing counter into the first and last word of every page,
 * page 0's word 0 last, until told to stop. A write that reads back
 * landed in whatever frame the mapping has now: a revoked one reads as
 * all-ones, so after a MOVE "landed" only grows once the mapping faulted
 * the new page in.
 */
static void __attribute__((noreturn))
revoke_writer(volatile uint64_t *map, struct revoke_shared *sh)
{
	uint64_t c;
	int i;

	for (c = 1; !sh->stop; c++) {
		for (i = DEVFILE_TEST_MOVABLE_PAGES - 1; i >= 0; i--) {
			map[i * PAGE_WORDS + PAGE_WORDS - 1] = c;
			map[i * PAGE_WORDS] = c;
		}
		if (map[0] == c)
			sh->landed = c;
		sh->progress = c;
	}
	_exit(0);
}

static int move(int fd, uint64_t flags, struct devfile_test_move *m)
{
	memset(m, 0, sizeof(*m));
	m->flags = flags;
	return (int)xioctl(fd, DEVFILE_TEST_IOC_MOVE, m);
}

static void t_revoke(void)
{
	struct devfile_test_info a, b;
	struct devfile_test_move m;
	struct revoke_shared *sh;
	volatile uint64_t *map = MAP_FAILED;
	uint64_t word0[REVOKE_MOVES], stray = 0, final_stray = 0, q, end;
	int fd, i, r = 0, moved = 0, stalled = -1, dec = -1, st = -1;
	pid_t pid = -1;

	sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = open_dev(O_RDWR);
	if (!CHECK_SYS("open", fd >= 0 && sh != MAP_FAILED))
		goto out;
	get_info(&a);
	map = mmap(NULL, MOV_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   DEVFILE_TEST_MAP_MOVABLE);
	if (!check("mmap", map != MAP_FAILED, "%zu bytes at %#llx: errno %d",
		   MOV_LEN, DEVFILE_TEST_MAP_MOVABLE,
		   map == MAP_FAILED ? errno : 0))
		goto out;
	sh->stop = sh->progress = sh->landed = 0;
	pid = fork();
	if (pid == 0)
		revoke_writer(map, sh);
	if (!CHECK_SYS("fork", pid > 0))
		goto out;
	end = now_ms() + WAIT_MS;
	while (!sh->landed && now_ms() < end)
		sleep_ms(1);
	if (!check("writer", sh->landed, "first write read back: %llu",
		   (unsigned long long)sh->landed))
		goto out;

	for (i = 0; i < REVOKE_MOVES; i++) {
		r = move(fd, DEVFILE_TEST_MOVE_MOVE, &m);
		if (r)
			break;
		moved++;
		stray += m.stray;
		word0[i] = m.word0;
		if (i && dec < 0 && word0[i] <= word0[i - 1])
			dec = i;
		/*
		 * Before the next move, a write the child began after this one
		 * returned must read back: it reached the new page.
		 */
		q = sh->progress;
		end = now_ms() + REVOKE_WAIT_MS;
		while (sh->landed < q + 2 && now_ms() < end)
			sleep_ms(1);
		if (sh->landed < q + 2) {
			stalled = i;
			break;
		}
		sleep_ms(2);
	}
	check("moves", moved == REVOKE_MOVES && !r,
	      "%d of %d MOVEs succeeded (%d)", moved, REVOKE_MOVES, r);
	check("writer_followed", stalled < 0,
	      "the child's writes read back within %d ms after MOVE: %s %d",
	      REVOKE_WAIT_MS, stalled < 0 ? "moves" : "not after move",
	      stalled < 0 ? moved : stalled);
	check("word0_increasing", moved > 1 && dec < 0,
	      "page 0's word 0 at each move: %llu .. %llu, %s at move %d",
	      (unsigned long long)word0[0],
	      (unsigned long long)word0[moved ? moved - 1 : 0],
	      dec < 0 ? "last" : "not increasing", dec < 0 ? moved : dec);

	/* Stop the child, then count what reached the last move's pages. */
	sh->stop = 1;
	end = now_ms() + WAIT_MS;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < end)
		sleep_ms(5);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	pid = -1;
	check("child", WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the writer stopped: status %#x", st);
	r = move(fd, DEVFILE_TEST_MOVE_CHECK, &m);
	final_stray = m.stray;
	check("stray", !r && !stray && !final_stray,
	      "bytes written to moved-away pages: %llu over %d moves, %llu "
	      "after the last (%d)",
	      (unsigned long long)stray, moved, (unsigned long long)final_stray,
	      r);
	/* The parent's mapping, zapped by every move, faults the last page. */
	check("parent_view", !r && map[0] == sh->landed && m.word0 == map[0],
	      "word 0 %llu, the device's %llu, the child's last %llu",
	      (unsigned long long)map[0], (unsigned long long)m.word0,
	      (unsigned long long)sh->landed);
	get_info(&b);
	check("counted",
	      b.moves == a.moves + moved &&
		      b.stray_bytes == a.stray_bytes + stray + final_stray,
	      "moves %llu->%llu stray_bytes %llu->%llu", a.moves, b.moves,
	      a.stray_bytes, b.stray_bytes);

	munmap((void *)map, MOV_LEN);
	map = MAP_FAILED;
	close(fd);
	fd = -1;
	get_info(&b);
	check("nothing_left",
	      b.active_mmaps == a.active_mmaps &&
		      b.mapped_pages == a.mapped_pages &&
		      b.open_files == a.open_files - 1,
	      "active_mmaps %llu mapped_pages %llu open_files %llu",
	      b.active_mmaps, b.mapped_pages, b.open_files);
out:
	if (pid > 0) {
		sh->stop = 1;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (map != MAP_FAILED)
		munmap((void *)map, MOV_LEN);
	if (fd >= 0)
		close(fd);
	if (sh != MAP_FAILED)
		munmap(sh, PAGE);
}

/* ---- threads ---------------------------------------------------------------- */

struct thr {
	int idx;
	int sfd; /* shared by all threads */
	int pfd; /* this thread's own file */
	long ops, xors, pwrites, preads, seeks, echos, bad;
	char first_err[96];
	uint8_t shadow[THREAD_REGION];
};

static void thr_bad(struct thr *t, const char *what, long got, long want)
{
	if (!t->bad++)
		snprintf(t->first_err, sizeof(t->first_err),
			 "op %ld %s got %ld want %ld", t->ops, what, got, want);
}

static void *thread_main(void *p)
{
	struct thr *t = p;
	uint64_t base = THREAD_BASE + t->idx * THREAD_REGION;
	uint64_t rng = 0x1234567ULL + t->idx * 0x100000001ULL;
	uint64_t key = 0x5a5a000000000000ULL | ((uint64_t)t->idx << 40);
	uint8_t buf[64];
	long i;

	memset(t->shadow, 0, sizeof(t->shadow));
	if (pwrite(t->sfd, t->shadow, THREAD_REGION, base) !=
	    (ssize_t)THREAD_REGION)
		thr_bad(t, "zero region", 0, THREAD_REGION);
	for (i = 0; i < nops; i++, t->ops++) {
		uint64_t r = xorshift(&rng);
		size_t n = 1 + (r >> 8) % 64;
		uint64_t off = (r >> 16) % (THREAD_REGION - n);
		struct devfile_test_xor x;
		off_t pos;
		long e;

		switch (r % 6) {
		case 0:
			x.in = xorshift(&rng);
			x.key = key ^ i;
			x.out = 0;
			e = xioctl(t->sfd, DEVFILE_TEST_IOC_XOR, &x);
			if (e || x.out != (x.in ^ (key ^ i)) ||
			    x.key != (key ^ i))
				thr_bad(t, "xor", e, 0);
			t->xors++;
			break;
		case 1:
			fill(buf, n, r);
			if (pwrite(t->sfd, buf, n, base + off) != (ssize_t)n)
				thr_bad(t, "pwrite", -errno, n);
			memcpy(t->shadow + off, buf, n);
			t->pwrites++;
			break;
		case 2:
			if (pread(t->sfd, buf, n, base + off) != (ssize_t)n)
				thr_bad(t, "pread", -errno, n);
			else if (memcmp(buf, t->shadow + off, n))
				thr_bad(t, "pread data", off, -1);
			t->preads++;
			break;
		case 3:
			/* Own file: SET, then CUR moves from there. */
			pos = lseek(t->pfd, base + off, SEEK_SET);
			if (pos != (off_t)(base + off))
				thr_bad(t, "seek set", pos, base + off);
			pos = lseek(t->pfd, (off_t)n, SEEK_CUR);
			if (pos != (off_t)(base + off + n))
				thr_bad(t, "seek cur", pos, base + off + n);
			/* Shared file: results do not depend on others. */
			pos = lseek(t->sfd, -(off_t)n, SEEK_END);
			if (pos != (off_t)(BUF_SIZE - n))
				thr_bad(t, "seek end", pos, BUF_SIZE - n);
			t->seeks++;
			break;
		case 4:
			/* write() at the own file's position. */
			fill(buf, n, r + 1);
			lseek(t->pfd, base + off, SEEK_SET);
			if (write(t->pfd, buf, n) != (ssize_t)n)
				thr_bad(t, "write", -errno, n);
			pos = lseek(t->pfd, 0, SEEK_CUR);
			if (pos != (off_t)(base + off + n))
				thr_bad(t, "pos after write", pos,
					base + off + n);
			memcpy(t->shadow + off, buf, n);
			t->pwrites++;
			break;
		default:
			e = xioctl(t->sfd, DEVFILE_TEST_IOC_ECHO,
				   (void *)(uintptr_t)(r & 0x7fffffff));
			if (e != (long)(r & 0x7fffffff))
				thr_bad(t, "echo", e, r & 0x7fffffff);
			t->echos++;
			break;
		}
	}
	return NULL;
}

static void t_threads(void)
{
	static struct thr th[NTHREADS];
	pthread_t tid[NTHREADS];
	uint8_t *back = malloc(THREAD_REGION);
	uint64_t t0, ms;
	long total = 0;
	char name[16];
	int sfd, i, started = 0;

	sfd = open_dev(O_RDWR);
	if (!CHECK_SYS("setup", sfd >= 0 && back))
		goto out;
	t0 = now_ms();
	for (i = 0; i < NTHREADS; i++) {
		memset(&th[i], 0, offsetof(struct thr, shadow));
		th[i].idx = i;
		th[i].sfd = sfd;
		th[i].pfd = open_dev(O_RDWR);
		if (th[i].pfd < 0 ||
		    pthread_create(&tid[i], NULL, thread_main, &th[i]))
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	ms = now_ms() - t0;
	check("start", started == NTHREADS, "%d of %d threads", started,
	      NTHREADS);
	for (i = 0; i < started; i++) {
		struct thr *t = &th[i];
		long d = 0;

		/* The region holds what the thread wrote last. */
		if (pread(sfd, back, THREAD_REGION,
			  THREAD_BASE + i * THREAD_REGION) !=
		    (ssize_t)THREAD_REGION)
			d = -2;
		else
			d = first_diff(back, t->shadow, THREAD_REGION);
		snprintf(name, sizeof(name), "t%d", i);
		check(name, !t->bad && d < 0 && t->ops == nops,
		      "ops=%ld xor=%ld write=%ld read=%ld seek=%ld echo=%ld "
		      "bad=%ld region_diff=%ld %s",
		      t->ops, t->xors, t->pwrites, t->preads, t->seeks,
		      t->echos, t->bad, d, t->first_err);
		total += t->ops;
		close(t->pfd);
	}
	check("total", total == (long)NTHREADS * nops,
	      "%ld ops in %llu ms (%llu ops/s)", total, (unsigned long long)ms,
	      (unsigned long long)(ms ? total * 1000ULL / ms : 0));
out:
	for (i = started; i < NTHREADS; i++) {
		if (th[i].pfd > 0)
			close(th[i].pfd);
	}
	if (sfd >= 0)
		close(sfd);
	free(back);
}

/* ---- lifecycle ------------------------------------------------------------- */

static void t_lifecycle(void)
{
	struct devfile_test_info a, b;
	int pfd[2], st = 0, ok;
	char c = 0;
	pid_t pid;
	uint64_t t0;

	drain_fifo();
	if (!CHECK_SYS("setup", !get_info(&a) && !pipe(pfd)))
		return;
	pid = fork();
	if (pid == 0) {
		volatile uint8_t *m1, *m2;
		char buf[16];
		int fd = open_dev(O_RDWR);

		close(pfd[0]);
		if (fd < 0 || set_mode(fd, DEVFILE_TEST_MODE_PIPE))
			_exit(10);
		m1 = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  fd, DEVFILE_TEST_MAP_RAM_FAULT + 0x200000);
		m2 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			  DEVFILE_TEST_MAP_MMIO_UPFRONT);
		if (m1 == MAP_FAILED || m2 == MAP_FAILED)
			_exit(11);
		m1[0] = 1;
		m1[PAGE] = 2;
		m2[0] = 3;
		fcntl(fd, F_SETOWN, getpid());
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
		write(pfd[1], "r", 1);
		read(fd, buf, sizeof(buf)); /* blocks: the FIFO is empty */
		_exit(12);
	}
	close(pfd[1]);
	if (!CHECK_SYS("fork", pid > 0)) {
		close(pfd[0]);
		return;
	}
	ok = read(pfd[0], &c, 1) == 1 && c == 'r';
	close(pfd[0]);
	check("child_ready", ok, "child wrote '%c'", c ? c : '-');
	ok = ok &&
	     WAIT_INFO(&b, b.blocked_readers == a.blocked_readers + 1, WAIT_MS);
	check("child_blocked",
	      ok && b.open_files == a.open_files + 1 &&
		      b.active_mmaps == a.active_mmaps + 2 &&
		      b.mapped_pages == a.mapped_pages + 3 &&
		      b.fasync == a.fasync + 1,
	      "open_files +%lld blocked +%lld mmaps +%lld pages +%lld "
	      "fasync +%lld",
	      (long long)(b.open_files - a.open_files),
	      (long long)(b.blocked_readers - a.blocked_readers),
	      (long long)(b.active_mmaps - a.active_mmaps),
	      (long long)(b.mapped_pages - a.mapped_pages),
	      (long long)(b.fasync - a.fasync));

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	check("killed", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "status %#x", st);
	t0 = now_ms();
	ok = WAIT_INFO(&b,
		       b.open_files == a.open_files &&
			       b.blocked_readers == a.blocked_readers &&
			       b.active_mmaps == a.active_mmaps &&
			       b.mapped_pages == a.mapped_pages &&
			       b.fasync == a.fasync,
		       WAIT_MS);
	check("cleaned_up", ok,
	      "after %llu ms: open_files %llu blocked %llu mmaps %llu pages "
	      "%llu fasync %llu",
	      (unsigned long long)(now_ms() - t0), b.open_files,
	      b.blocked_readers, b.active_mmaps, b.mapped_pages, b.fasync);
	check("released", b.total_releases >= a.total_releases + 1,
	      "total_releases +%llu", b.total_releases - a.total_releases);

	/* The device still works for others. */
	{
		int fd = open_dev(O_RDWR | O_NONBLOCK);
		char buf[4];
		ssize_t s = -1;

		if (fd >= 0 && !set_mode(fd, DEVFILE_TEST_MODE_PIPE)) {
			write(fd, "ok", 2);
			s = read(fd, buf, sizeof(buf));
		}
		check("device_usable", s == 2, "pipe write+read after: %zd", s);
		if (fd >= 0)
			close(fd);
	}
}

/* ---- pair ------------------------------------------------------------------ */

/*
 * Two guests at once: the suite runs in both, each on a device instance of
 * its own, with -r a in one and -r b in the other (a also gets -p and b's
 * instance). They meet through the device's MEET barrier, run the threads
 * test at the same time, and meet again. Then b blocks in a read of its
 * FIFO while a runs operations of its own and checks that b is still
 * blocked; a then wakes b by writing to b's instance.
 */
#define MEET_MS 600000 /* the other guest may still be in its own tests */
#define PAIR_OPS 2000
#define PAIR_BLOCK_S 300 /* b gives up its read after this (SIGALRM) */

static char pair_role; /* -r: 'a' or 'b' */
static const char *peer; /* -p: b's instance, for a */

static long meet(uint64_t *waited)
{
	struct devfile_test_meet m = { .parties = 2, .timeout_ms = MEET_MS };
	uint64_t t0 = now_ms();
	long e = xioctl(ctl, DEVFILE_TEST_IOC_MEET, &m);

	*waited = now_ms() - t0;
	return e;
}

static int info_of(int fd, struct devfile_test_info *in)
{
	memset(in, 0, sizeof(*in));
	return (int)xioctl(fd, DEVFILE_TEST_IOC_GET_INFO, in);
}

/* b: a read that blocks in the driver VM until a writes. */
static void pair_block(void)
{
	char buf[16] = "";
	uint64_t t0;
	ssize_t n = -1;
	int fd, err = 0;

	drain_fifo();
	fd = open_dev(O_RDWR);
	if (!CHECK_SYS("blocker_setup",
		       fd >= 0 && !set_mode(fd, DEVFILE_TEST_MODE_PIPE)))
		goto out;
	t0 = now_ms();
	alarm(PAIR_BLOCK_S);
	n = read(fd, buf, sizeof(buf));
	err = n < 0 ? errno : 0;
	alarm(0);
	check("blocked_read", n == 4 && !memcmp(buf, "wake", 4),
	      "read %zd bytes (errno %d) '%.*s' after %llu ms blocked", n, err,
	      n > 0 ? (int)n : 0, buf, (unsigned long long)(now_ms() - t0));
out:
	if (fd >= 0)
		close(fd);
}

/* a: operations of its own while b's read is blocked; then wake b. */
static void pair_run(void)
{
	struct devfile_test_info pi;
	uint8_t buf[64], back[64];
	long i, bad = 0;
	uint64_t t0, ms;
	int pfd, fd, ok;

	pfd = open(peer, O_RDWR | O_CLOEXEC);
	fd = open_dev(O_RDWR);
	if (!CHECK_SYS("runner_setup", pfd >= 0 && fd >= 0))
		goto out;
	t0 = now_ms();
	while (!(ok = !info_of(pfd, &pi) && pi.blocked_readers == 1) &&
	       now_ms() - t0 < 6 * WAIT_MS)
		sleep_ms(10);
	check("peer_blocked", ok, "%s: blocked_readers=%llu after %llu ms",
	      peer, pi.blocked_readers, (unsigned long long)(now_ms() - t0));
	if (!ok)
		goto out;
	t0 = now_ms();
	for (i = 0; i < PAIR_OPS; i++) {
		off_t off = (off_t)(i % 1024) * sizeof(buf);

		if (xioctl(fd, DEVFILE_TEST_IOC_ECHO, (void *)(uintptr_t)i) !=
		    i)
			bad++;
		fill(buf, sizeof(buf), (uint64_t)i);
		if (pwrite(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf) ||
		    pread(fd, back, sizeof(back), off) !=
			    (ssize_t)sizeof(back) ||
		    memcmp(buf, back, sizeof(buf)))
			bad++;
	}
	ms = now_ms() - t0;
	ok = !info_of(pfd, &pi) && pi.blocked_readers == 1;
	check("not_stalled", !bad && ok,
	      "%d ops (%ld bad) in %llu ms while the other guest's read stayed "
	      "blocked (blocked_readers=%llu)",
	      3 * PAIR_OPS, bad, (unsigned long long)ms, pi.blocked_readers);
	ok = !set_mode(pfd, DEVFILE_TEST_MODE_PIPE) &&
	     write(pfd, "wake", 4) == 4;
	CHECK_SYS("wake_peer", ok);
out:
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
}

static void t_threads(void);

static void t_pair(void)
{
	uint64_t waited;
	long e;

	if (!pair_role) {
		skip("peer", "needs two guests: -r a|b (see -h)");
		return;
	}
	e = meet(&waited);
	check("meet", !e, "role %c met the other guest after %llu ms (%ld)",
	      pair_role, (unsigned long long)waited, e);
	if (e)
		return;
	t_threads();
	e = meet(&waited);
	check("meet_threads", !e, "after %llu ms (%ld)",
	      (unsigned long long)waited, e);
	if (e)
		return;
	if (pair_role == 'b')
		pair_block();
	else
		pair_run();
	e = meet(&waited);
	check("meet_end", !e, "after %llu ms (%ld)", (unsigned long long)waited,
	      e);
}

/* ---- leave_blocked ------------------------------------------------------- */

/*
 * Leave a child blocked in a read of the device, for good: for a guest
 * that crashes next with a request in flight in the driver VM (not in
 * "all"; the child outlives the suite).
 */
static void t_leave_blocked(void)
{
	struct devfile_test_info in;
	pid_t pid;
	int ok;

	drain_fifo();
	pid = fork();
	if (pid == 0) {
		char buf[16];
		int fd = open_dev(O_RDWR), nul = open("/dev/null", O_RDWR);

		/* Not our caller's pipe: whoever reads it must see its end. */
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		if (fd < 0 || set_mode(fd, DEVFILE_TEST_MODE_PIPE))
			_exit(10);
		for (;;)
			read(fd, buf, sizeof(buf));
	}
	if (!CHECK_SYS("fork", pid > 0))
		return;
	ok = WAIT_INFO(&in, in.blocked_readers >= 1, WAIT_MS);
	check("child_blocked", ok, "child %d, blocked_readers=%llu", (int)pid,
	      in.blocked_readers);
}

/* ---- main ------------------------------------------------------------------- */

static const struct test {
	const char *name;
	void (*fn)(void);
	int needs_peer; /* needs another guest, or more: not in "all" */
} tests[] = {
	{ "open", t_open, 0 },
	{ "rw", t_rw, 0 },
	{ "llseek", t_llseek, 0 },
	{ "ioctl", t_ioctl, 0 },
	{ "nested", t_nested, 0 },
	{ "peek", t_peek, 0 },
	{ "errors", t_errors, 0 },
	{ "poll", t_poll, 0 },
	{ "fasync", t_fasync, 0 },
	{ "mmap_ram_fault", t_mmap_ram_fault, 0 },
	{ "mmap_ram_upfront", t_mmap_ram_upfront, 0 },
	{ "mmap_mmio_upfront", t_mmap_mmio_upfront, 0 },
	{ "mmap_mmio_fault", t_mmap_mmio_fault, 0 },
	{ "revoke", t_revoke, 0 },
	{ "threads", t_threads, 0 },
	{ "lifecycle", t_lifecycle, 0 },
	{ "pair", t_pair, 1 },
	{ "leave_blocked", t_leave_blocked, 1 },
};
#define NTESTS (sizeof(tests) / sizeof(tests[0]))

static void usage(const char *argv0)
{
	unsigned int i;

	fprintf(stderr,
		"usage: %s [-d DEV] [-t TEST,...] [-x TEST,...] [-n OPS] [-q]\n"
		"       [-r a|b] [-p PEER_DEV]   (the pair test: two guests)\n"
		"tests:",
		argv0);
	for (i = 0; i < NTESTS; i++)
		fprintf(stderr, " %s", tests[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

/* Mark the tests named in the comma list; 0 on success. */
static int select_tests(char *list, int *sel)
{
	char *tok, *save = NULL;
	unsigned int i;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			for (i = 0; i < NTESTS; i++)
				sel[i] |= !tests[i].needs_peer;
			continue;
		}
		for (i = 0; i < NTESTS && strcmp(tok, tests[i].name); i++)
			;
		if (i == NTESTS) {
			fprintf(stderr, "devfile_suite: unknown test '%s'\n",
				tok);
			return -1;
		}
		sel[i] = 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int sel[NTESTS] = { 0 }, skip[NTESTS] = { 0 }, any = 0, opt;
	struct sigaction sa;
	unsigned int i;
	char *end;

	while ((opt = getopt(argc, argv, "d:t:x:n:r:p:qh")) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 't':
			if (select_tests(optarg, sel))
				usage(argv[0]);
			any = 1;
			break;
		case 'x':
			if (select_tests(optarg, skip))
				usage(argv[0]);
			break;
		case 'n':
			errno = 0;
			nops = strtol(optarg, &end, 0);
			if (errno || end == optarg || *end || nops < 1 ||
			    nops > 100000000)
				usage(argv[0]);
			break;
		case 'r':
			pair_role = optarg[0] && !optarg[1] ? optarg[0] : '?';
			break;
		case 'p':
			peer = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc)
		usage(argv[0]);
	if (!any) {
		for (i = 0; i < NTESTS; i++)
			sel[i] = !tests[i].needs_peer;
	}
	for (i = 0; i < NTESTS; i++)
		sel[i] = sel[i] && !skip[i];
	if ((pair_role && pair_role != 'a' && pair_role != 'b') ||
	    (pair_role == 'a' && !peer))
		usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* SIGUSR1 interrupts a stuck reader (no SA_RESTART); a stray SIGIO
	 * must not kill the suite. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGIO, &sa, NULL);

	printf("DEVFILE-SUITE start dev=%s ops=%ld role=%c\n", dev, nops,
	       pair_role ? pair_role : '-');
	ctl = open(dev, O_RDWR | O_CLOEXEC);
	if (ctl < 0 || xioctl(ctl, DEVFILE_TEST_IOC_RESET, NULL)) {
		cur_test = "open";
		check("device", 0, "open %s + RESET: errno %d", dev, errno);
		printf("DEVFILE-SUITE done failures=%d\n", failures);
		return 1;
	}
	for (i = 0; i < NTESTS; i++) {
		uint64_t t0;

		if (!sel[i])
			continue;
		cur_test = tests[i].name;
		cur_checks = cur_failed = 0;
		t0 = now_ms();
		tests[i].fn();
		pthread_mutex_lock(&out_lock);
		printf("DEVFILE-TEST %s summary %s checks=%d failed=%d ms=%llu\n",
		       cur_test, cur_failed ? "FAIL" : "PASS", cur_checks,
		       cur_failed, (unsigned long long)(now_ms() - t0));
		pthread_mutex_unlock(&out_lock);
	}
	close(ctl);
	printf("DEVFILE-SUITE done failures=%d\n", failures);
	return failures ? 1 : 0;
}
