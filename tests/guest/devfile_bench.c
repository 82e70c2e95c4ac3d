// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_bench: device-file forwarding against the real device, in one
 * boot (tests/bench_devfile.py, docs/results/devfile.md).
 *
 *   devfile_bench driver [-t SECONDS]   in the driver VM, on the real
 *                                       /dev/devfile_test (devfile_testdev.ko)
 *   devfile_bench guest [-t SECONDS]    in a user guest, on the stub's
 *                                       /dev/devfile_test (devfile_stub.ko,
 *                                       transport=hypercall)
 *
 * Both open the device; they take turns through its value (SET_VALUE /
 * GET_VALUE, one value for the whole device, so the guest's forwarded
 * ioctls and the driver's native ones see the same one):
 *
 *   guest  sets READY, then waits for GO
 *   driver waits for READY; runs the native measurements while the guest
 *          only polls (every 0.2 s); sets GO; then samples, every 50 ms,
 *          the value, its own VM exits (devfile_transport's "info" parameter:
 *          devirt's DEVFILE_INFO of the driver's vCPU) and the device's
 *          counters (GET_INFO), until the value is DONE
 *   guest  measures: raw hypercalls (the stub's hc_bench parameter), the
 *          ECHO ioctl asynchronously (the stub's default) and
 *          synchronously (its async parameter 0), both again while the
 *          driver VM's servers poll the ring (the driver sets devfile_transport's
 *          poll_us for those phases), read and write of 4 KiB to 16 MiB;
 *          each in its own phase (the value = the phase), its own exits
 *          read from the stub's "info" parameter; then DONE
 *
 * For each phase the driver reports its exits between the first and the
 * last sample that saw that phase, with the device's operation counts
 * over the same interval. Every result is one line:
 *
 *   DEVFILE-BENCH <side> <what> key=value ...
 *
 * ECHO is the device's near-null operation (returns its argument). Times
 * are CLOCK_MONOTONIC in each VM. Exit code 0, or 1 with a
 * "DEVFILE-BENCH error ..." line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "devfile_testdev.h"

#define DEV "/dev/" DEVFILE_TEST_NAME
#define STUB_PARAMS "/sys/module/devfile_stub/parameters/"
#define HVT_INFO "/sys/module/devfile_transport/parameters/info"
#define HVT_POLL "/sys/module/devfile_transport/parameters/poll_us"
#define POLL_US "1000" /* the polled phases' window after each request */

/* Device values: the handshake and the phases. */
#define V_READY 0x0DFB0001ULL
#define V_GO 0x0DFB0002ULL
#define V_DONE 0x0DFB0003ULL
#define V_PHASE 0x0DFB1000ULL /* + phase number */

#define PH_ECHO_ASYNC 1
#define PH_ECHO_SYNC 2
#define PH_ECHO_ASYNC_POLL 3 /* the driver VM's servers poll the ring */
#define PH_ECHO_SYNC_POLL 4
#define PH_RW 16 /* + 2 * size index + (1 for write) */

static const size_t sizes[] = { 4096,	 16384,	  65536,   262144,
				1 << 20, 4 << 20, 16 << 20 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define MAXSIZE (16 << 20)

static double secs = 2.0; /* each measurement runs at least this long */
static int fd = -1;
static const char *side = "?";

static void out(const char *fmt, ...)
{
	va_list ap;

	printf("DEVFILE-BENCH %s ", side);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	printf("DEVFILE-BENCH %s error ", side);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" errno=%d\n", errno);
	fflush(stdout);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The value of "key=" in the line @buf; -1 if absent. */
static long long line_key(const char *buf, const char *key)
{
	const char *p;

	for (p = buf; (p = strstr(p, key)) != NULL; p++)
		if ((p == buf || p[-1] == ' ') && p[strlen(key)] == '=')
			return strtoll(p + strlen(key) + 1, NULL, 0);
	return -1;
}

/* The one-line file @path into @buf (empty on error). */
static void read_line(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int f = open(path, O_RDONLY);

	buf[0] = 0;
	if (f < 0)
		return;
	n = read(f, buf, len - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
}

/* The value of "key=" in the one-line file @path; -1 if absent. */
static long long file_key(const char *path, const char *key)
{
	char buf[256];

	read_line(path, buf, sizeof(buf));
	return line_key(buf, key);
}

static void file_write(const char *path, const char *val)
{
	int f = open(path, O_WRONLY);

	if (f < 0 || write(f, val, strlen(val)) != (ssize_t)strlen(val))
		die("write %s", path);
	close(f);
}

static void set_value(unsigned long long v)
{
	if (ioctl(fd, DEVFILE_TEST_IOC_SET_VALUE, &v))
		die("SET_VALUE");
}

static unsigned long long get_value(void)
{
	unsigned long long v = 0;

	if (ioctl(fd, DEVFILE_TEST_IOC_GET_VALUE, &v))
		die("GET_VALUE");
	return v;
}

static void wait_value(unsigned long long want, int poll_ms, int max_s)
{
	uint64_t end = now_ns() + (uint64_t)max_s * 1000000000ULL;

	while (get_value() != want) {
		if (now_ns() > end)
			die("timeout waiting for value 0x%llx", want);
		sleep_ms(poll_ms);
	}
}

/* ECHO for at least secs; ops and ns. */
static void echo_loop(unsigned long *ops, uint64_t *ns)
{
	uint64_t t0 = now_ns(), t1, limit = (uint64_t)(secs * 1e9);
	unsigned long n = 0;

	do {
		for (int i = 0; i < 64; i++, n++) {
			unsigned long arg = n & 0x7fffffff;

			if (ioctl(fd, DEVFILE_TEST_IOC_ECHO, arg) != (int)arg)
				die("ECHO %lu", arg);
		}
		t1 = now_ns();
	} while (t1 - t0 < limit);
	*ops = n;
	*ns = t1 - t0;
}

/* pread or pwrite of size at offset 0 for at least secs (and 3 times). */
static void rw_loop(char *buf, size_t size, int wr, unsigned long *reps,
		    uint64_t *ns)
{
	uint64_t t0, t1, limit = (uint64_t)(secs * 1e9 / 2);
	unsigned long n = 0;
	ssize_t r;

	/* Once untimed: first touches, caches. */
	r = wr ? pwrite(fd, buf, size, 0) : pread(fd, buf, size, 0);
	if (r != (ssize_t)size)
		die("%s %zu: %zd", wr ? "write" : "read", size, r);
	t0 = now_ns();
	do {
		r = wr ? pwrite(fd, buf, size, 0) : pread(fd, buf, size, 0);
		if (r != (ssize_t)size)
			die("%s %zu: %zd", wr ? "write" : "read", size, r);
		n++;
		t1 = now_ns();
	} while (t1 - t0 < limit || n < 3);
	*reps = n;
	*ns = t1 - t0;
}

static char *big_buffer(void)
{
	char *buf = malloc(MAXSIZE);

	if (!buf)
		die("malloc");
	for (size_t i = 0; i < MAXSIZE; i++)
		buf[i] = (char)(i * 7);
	return buf;
}

static void open_dev(int wait_s)
{
	for (int i = 0; i < wait_s * 5; i++) {
		fd = open(DEV, O_RDWR);
		if (fd >= 0)
			return;
		sleep_ms(200);
	}
	die("open " DEV);
}

/* ---- driver VM: native, then the guest's phases' exits --------------------- */

static long long hvt_exits(void)
{
	return file_key(HVT_INFO, "exits");
}

/* devfile_transport's split of its time per request (its info parameter). */
static const char *const hvt_keys[] = { "served", "pages",    "prep_ns",
					"op_ns",  "after_ns", "done_ns",
					"map_ns" };
#define NKEYS (sizeof(hvt_keys) / sizeof(hvt_keys[0]))

struct sample {
	uint64_t t;
	long long exits;
	long long hvt[NKEYS];
	unsigned long long ioctls, reads, writes;
};

static void take_sample(struct sample *s, unsigned long long *v)
{
	struct devfile_test_info info;
	char line[256];

	*v = get_value();
	/* One read, one INFO hypercall: as many exits as before. */
	read_line(HVT_INFO, line, sizeof(line));
	s->exits = line_key(line, "exits");
	for (unsigned k = 0; k < NKEYS; k++)
		s->hvt[k] = line_key(line, hvt_keys[k]);
	if (ioctl(fd, DEVFILE_TEST_IOC_GET_INFO, &info))
		die("GET_INFO");
	s->t = now_ns();
	s->ioctls = info.ioctls;
	s->reads = info.reads;
	s->writes = info.writes;
}

#define MAX_PHASES 64

/* Native read and write of every size; @mode names the run. */
static void native_rw(char *buf, const char *mode)
{
	unsigned long reps;
	uint64_t ns;

	for (unsigned i = 0; i < NSIZES; i++)
		for (int wr = 0; wr < 2; wr++) {
			rw_loop(buf, sizes[i], wr, &reps, &ns);
			out("%s mode=%s size=%zu reps=%lu ns=%llu",
			    wr ? "write" : "read", mode, sizes[i], reps,
			    (unsigned long long)ns);
		}
}

static int run_driver(void)
{
	static struct sample first[MAX_PHASES], last[MAX_PHASES];
	static unsigned long samples[MAX_PHASES];
	unsigned long long v;
	unsigned long ops;
	uint64_t ns;
	long long e0, e1;
	char *buf;
	struct sample s, idle0;

	side = "driver";
	open_dev(60);
	buf = big_buffer();
	if (hvt_exits() < 0)
		die("no " HVT_INFO);
	wait_value(V_READY, 50, 900);
	out("ready");

	e0 = hvt_exits();
	echo_loop(&ops, &ns);
	e1 = hvt_exits();
	out("echo mode=native ops=%lu ns=%llu exits=%lld", ops,
	    (unsigned long long)ns, e1 - e0 - 1);
	native_rw(buf, "native");

	/* Background: the sampling loop itself while the guest waits. */
	take_sample(&idle0, &v);
	for (int i = 0; i < 20; i++) {
		sleep_ms(50);
		take_sample(&s, &v);
	}
	out("idle ns=%llu exits=%lld samples=20",
	    (unsigned long long)(s.t - idle0.t), s.exits - idle0.exits);

	set_value(V_GO);
	for (int polling = 0;;) {
		int p, want;

		sleep_ms(50);
		take_sample(&s, &v);
		if (v == V_DONE)
			break;
		if (v < V_PHASE || v >= V_PHASE + MAX_PHASES)
			continue;
		p = v - V_PHASE;
		want = p == PH_ECHO_ASYNC_POLL || p == PH_ECHO_SYNC_POLL;
		if (want != polling) {
			file_write(HVT_POLL, want ? POLL_US : "0");
			polling = want;
			out("poll phase=%d poll_us=%s", p,
			    want ? POLL_US : "0");
		}
		if (!samples[p]++)
			first[p] = s;
		last[p] = s;
	}
	for (int p = 0; p < MAX_PHASES; p++) {
		if (samples[p] < 2)
			continue;
		/* Each sample: one GET_VALUE and one GET_INFO of ours. */
		out("phase=%d samples=%lu ns=%llu exits=%lld ioctls=%llu "
		    "reads=%llu writes=%llu",
		    p, samples[p], (unsigned long long)(last[p].t - first[p].t),
		    last[p].exits - first[p].exits,
		    last[p].ioctls - first[p].ioctls - 2 * (samples[p] - 1),
		    last[p].reads - first[p].reads,
		    last[p].writes - first[p].writes);
		printf("DEVFILE-BENCH driver phasetime phase=%d", p);
		for (unsigned k = 0; k < NKEYS; k++)
			printf(" %s=%lld", hvt_keys[k],
			       last[p].hvt[k] - first[p].hvt[k]);
		printf("\n");
		fflush(stdout);
	}
	/* Again after the guest's phases: the host's speed drifts. */
	native_rw(buf, "native-after");
	out("done");
	return 0;
}

/* ---- user guest: forwarded ------------------------------------------------- */

static long long stub_info(const char *key)
{
	return file_key(STUB_PARAMS "info", key);
}

static void hypercalls(void)
{
	unsigned long n = 1000;
	char num[32];
	long long ns = 0;

	for (;;) {
		snprintf(num, sizeof(num), "%lu", n);
		file_write(STUB_PARAMS "hc_bench", num);
		ns = file_key(STUB_PARAMS "hc_bench", "ns");
		if (ns >= secs * 1e9 / 2 || n >= 50000000)
			break;
		n = ns > 0 ? (unsigned long)(n * (secs * 1e9 / 2) / ns) + 1 :
			     n * 10;
		if (n > 50000000)
			n = 50000000;
	}
	out("hypercall n=%lu ns=%lld exits=%lld", n, ns,
	    file_key(STUB_PARAMS "hc_bench", "exits"));
}

/*
 * A raw hypercall from a process: reads of the stub's hc_once (one
 * hypercall each) against reads of its transport parameter (none); the
 * same sysfs path both ways, so the difference is the hypercall.
 */
static void sysfs_reads(const char *param, int hc)
{
	uint64_t t0 = now_ns(), t1, limit = (uint64_t)(secs * 1e9 / 2);
	unsigned long n = 0;
	long long e0, e1;
	char b[64];
	int pfd = open(param, O_RDONLY);

	if (pfd < 0)
		die("open %s", param);
	e0 = stub_info("exits");
	do {
		for (int i = 0; i < 64; i++, n++)
			if (pread(pfd, b, sizeof(b), 0) <= 0)
				die("read %s", param);
		t1 = now_ns();
	} while (t1 - t0 < limit);
	e1 = stub_info("exits");
	close(pfd);
	/* The second info read is one exit (INFO) of its own. */
	out("sysfs hc=%d n=%lu ns=%llu exits=%lld", hc, n,
	    (unsigned long long)(t1 - t0), e1 - e0 - 1);
}

static void echo_phase(int async, int poll)
{
	int p = poll ? (async ? PH_ECHO_ASYNC_POLL : PH_ECHO_SYNC_POLL) :
		       (async ? PH_ECHO_ASYNC : PH_ECHO_SYNC);
	static const char *const keys[] = { "exits",	"calls", "async",
					    "polled",	"timed", "call_ns",
					    "driver_ns" };
	long long d[7];
	char b0[256], b1[256];
	unsigned long ops;
	uint64_t ns;

	file_write(STUB_PARAMS "async", async ? "1" : "0");
	set_value(V_PHASE + p);
	/* The driver samples every 50 ms: let it switch its polling. */
	if (poll)
		sleep_ms(300);
	read_line(STUB_PARAMS "info", b0, sizeof(b0));
	echo_loop(&ops, &ns);
	read_line(STUB_PARAMS "info", b1, sizeof(b1));
	for (int k = 0; k < 7; k++)
		d[k] = line_key(b1, keys[k]) - line_key(b0, keys[k]);
	/*
	 * The second info read is one exit (INFO) of its own. timed,
	 * call_ns, driver_ns: the requests devirt completed within CALL,
	 * their time in CALL and the driver VM's part of it.
	 */
	/* Two lines: devirt splits guest console lines at 160 bytes. */
	out("echo mode=%s%s phase=%d ops=%lu ns=%llu exits=%lld calls=%lld "
	    "async_calls=%lld polled_calls=%lld",
	    async ? "async" : "sync", poll ? "-poll" : "", p, ops,
	    (unsigned long long)ns, d[0] - 1, d[1], d[2], d[3]);
	out("echotime mode=%s%s timed=%lld call_ns=%lld driver_ns=%lld",
	    async ? "async" : "sync", poll ? "-poll" : "", d[4], d[5], d[6]);
	file_write(STUB_PARAMS "async", "1");
}

static int run_guest(void)
{
	unsigned long reps;
	uint64_t ns;
	long long e0, e1;
	char *buf;

	side = "guest";
	open_dev(60);
	buf = big_buffer();
	if (stub_info("exits") < 0)
		die("no " STUB_PARAMS "info");
	set_value(V_READY);
	wait_value(V_GO, 200, 1800);
	out("go");

	hypercalls();
	sysfs_reads(STUB_PARAMS "transport", 0);
	sysfs_reads(STUB_PARAMS "hc_once", 1);
	echo_phase(1, 0);
	echo_phase(0, 0);
	echo_phase(1, 1);
	echo_phase(0, 1);
	for (unsigned i = 0; i < NSIZES; i++)
		for (int wr = 0; wr < 2; wr++) {
			int p = PH_RW + 2 * i + wr;

			set_value(V_PHASE + p);
			e0 = stub_info("exits");
			rw_loop(buf, sizes[i], wr, &reps, &ns);
			e1 = stub_info("exits");
			/* exits: over reps + 1 (the untimed first). */
			out("%s mode=forwarded phase=%d size=%zu reps=%lu "
			    "ns=%llu exits=%lld",
			    wr ? "write" : "read", p, sizes[i], reps,
			    (unsigned long long)ns, e1 - e0 - 1);
		}
	hypercalls();
	set_value(V_DONE);
	out("done");
	return 0;
}

int main(int argc, char **argv)
{
	int c;

	if (argc < 2) {
		fprintf(stderr, "usage: %s driver|guest [-t SECONDS]\n",
			argv[0]);
		return 2;
	}
	optind = 2;
	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c == 't')
			secs = atof(optarg);
		else
			return 2;
	}
	if (secs <= 0)
		secs = 2.0;
	if (!strcmp(argv[1], "driver"))
		return run_driver();
	if (!strcmp(argv[1], "guest"))
		return run_guest();
	fprintf(stderr, "%s: unknown side %s\n", argv[0], argv[1]);
	return 2;
}
