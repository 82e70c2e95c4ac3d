// SPDX-License-Identifier: GPL-2.0
/* The boot config parser (boot/config.c, devirt/config.h). */
#include <stdlib.h>
#include <devirt/config.h>
#include "unit.h"

/*
 * Parse @len bytes copied to a heap buffer of exactly that size (no NUL
 * after it), into an error buffer of exactly @errlen bytes, so that ASan
 * sees any read past the text or write past the buffer.
 */
static int parse_n(const char *text, size_t len, struct devirt_config *cfg,
		   char *err, size_t errlen)
{
	char *buf = malloc(len ? len : 1);
	char *e = malloc(errlen ? errlen : 1);
	int r;

	memcpy(buf, text, len);
	memset(e, 'x', errlen ? errlen : 1);
	r = config_parse(buf, len, cfg, errlen ? e : NULL, errlen);
	if (errlen)
		memcpy(err, e, errlen);
	free(buf);
	free(e);
	return r;
}

static struct devirt_config cfg;
static char err[CFG_ERR_LEN];

static int parse(const char *text)
{
	memset(&cfg, 0xa5, sizeof(cfg));
	memset(err, 'x', sizeof(err));
	return parse_n(text, strlen(text), &cfg, err, sizeof(err));
}

static bool nul_terminated(const char *s, size_t len)
{
	return memchr(s, 0, len) != NULL;
}

/*
 * @text must be rejected with a message that contains @msg (and names
 * line @line when it is non-zero). The message is checked to be
 * NUL-terminated and cut cleanly with small error buffers.
 */
static void reject_n(const char *text, size_t len, u32 line, const char *msg,
		     int caller)
{
	static const size_t lens[] = { 1, 2, 8, 20 };
	char full[CFG_ERR_LEN], small[32], prefix[24];
	int ok = 1;

	memset(&cfg, 0, sizeof(cfg));
	memset(full, 'x', sizeof(full));
	ok &= CHECK_EQ(parse_n(text, len, &cfg, full, sizeof(full)), -1);
	ok &= CHECK(nul_terminated(full, sizeof(full)));
	if (!nul_terminated(full, sizeof(full)))
		full[sizeof(full) - 1] = 0;
	ok &= CHECK_HAS(full, msg);
	if (line) {
		snprintf(prefix, sizeof(prefix), "line %u: ", line);
		ok &= CHECK(!strncmp(full, prefix, strlen(prefix)));
	} else {
		ok &= CHECK(strncmp(full, "line ", 5) != 0);
	}
	/* The message is one line. */
	ok &= CHECK(!strchr(full, '\n'));

	for (u32 i = 0; i < ARRAY_SIZE(lens); i++) {
		size_t n = lens[i];

		memset(small, 'x', sizeof(small));
		ok &= CHECK_EQ(parse_n(text, len, &cfg, small, n), -1);
		ok &= CHECK(nul_terminated(small, n));
		small[n - 1] = nul_terminated(small, n) ? small[n - 1] : 0;
		/* The longest prefix of the full message that fits. */
		ok &= CHECK_EQ(strlen(small), MIN(strlen(full), n - 1));
		ok &= CHECK(!strncmp(small, full, n - 1));
	}
	/* No error buffer at all. */
	ok &= CHECK_EQ(parse_n(text, len, &cfg, NULL, 0), -1);
	if (!ok)
		fprintf(stderr, "\t(rejection called from line %d: \"%s\")\n",
			caller, full);
}

#define reject(text, line, msg) \
	reject_n((text), strlen(text), (line), (msg), __LINE__)

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

/* --- valid configs --- */

static void test_shipped_config(void)
{
	size_t len = 0;
	char *text = read_file("boot/devirt.cfg", &len);
	struct vm_config *vm = &cfg.vms[0];

	if (!CHECK(text != NULL)) {
		fprintf(stderr, "\t(run from the repository root)\n");
		return;
	}
	memset(&cfg, 0xa5, sizeof(cfg));
	memset(err, 'x', sizeof(err));
	CHECK_EQ(parse_n(text, len, &cfg, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_EQ(cfg.nr_vms, 3);
	CHECK_EQ(cfg.log_level, 1);
	CHECK_EQ(cfg.bare, 0);
	CHECK_EQ(cfg.hyp_memory, 64ULL << 20);
	CHECK_STR(vm->name, "driver");
	CHECK_EQ(vm->role, VM_ROLE_DRIVER);
	CHECK_STR(vm->kernel, "\\EFI\\devirt\\vmlinuz");
	CHECK_STR(vm->initrd, "\\EFI\\devirt\\initrd-driver.gz");
	CHECK_STR(vm->cmdline, "console=ttyS0,115200 "
			       "earlyprintk=serial,ttyS0,115200 loglevel=6 "
			       "panic=-1 devirt_stay=1 devfile_native=1 "
			       "devfile_forward=1 devfile_dfuzz=100000");
	CHECK_EQ(vm->memory, 1024ULL << 20);
	CHECK_EQ(vm->cpus, 1);
	/* Two user guests, one CPU each; g2 crashes on purpose. */
	CHECK_STR(cfg.vms[1].name, "g1");
	CHECK_EQ(cfg.vms[1].role, VM_ROLE_GUEST);
	CHECK_STR(cfg.vms[1].initrd, "\\EFI\\devirt\\initrd-guest.gz");
	CHECK_EQ(cfg.vms[1].memory, 256ULL << 20);
	CHECK_EQ(cfg.vms[1].cpus, 1);
	CHECK_STR(cfg.vms[2].name, "g2");
	CHECK_EQ(cfg.vms[2].memory, 192ULL << 20);
	CHECK(strstr(cfg.vms[2].cmdline, "devirt_crash=panic") != NULL);
	/* g1 forwards the test device (and its instances); g2 opens none. */
	CHECK_STR(cfg.vms[0].devices, "");
	CHECK_STR(cfg.vms[1].devices, "devfile_test*");
	CHECK_STR(cfg.vms[2].devices, "");
	/* The unused slots are zeroed, not left as they were. */
	CHECK_EQ(cfg.vms[3].name[0], 0);
	CHECK_EQ(cfg.vms[3].memory, 0);
	CHECK_EQ(cfg.vms[CFG_MAX_VMS - 1].cmdline[CFG_CMDLINE_LEN - 1], 0);
	free(text);
}

/* The test images' configs: each guest may open the instances it uses. */
static void test_other_shipped_configs(void)
{
	static const struct {
		const char *path;
		u32 nr_vms;
		const char *devices[3];
	} cfgs[] = {
		{ "boot/devirt-vmx.cfg",
		  2,
		  { "", "devfile_test*,dri/card0,input/event*" } },
		{ "boot/devirt-pair.cfg",
		  3,
		  { "", "devfile_test,devfile_test1", "devfile_test1" } },
	};

	for (u32 i = 0; i < ARRAY_SIZE(cfgs); i++) {
		size_t len = 0;
		char *text = read_file(cfgs[i].path, &len);

		if (!CHECK(text != NULL))
			continue;
		memset(&cfg, 0xa5, sizeof(cfg));
		if (!CHECK_EQ(parse_n(text, len, &cfg, err, sizeof(err)), 0))
			fprintf(stderr, "\t(%s: %s)\n", cfgs[i].path, err);
		CHECK_EQ(cfg.nr_vms, cfgs[i].nr_vms);
		for (u32 v = 0; v < cfgs[i].nr_vms; v++)
			CHECK_STR(cfg.vms[v].devices, cfgs[i].devices[v]);
		free(text);
	}
}

static void test_three_vms(void)
{
	/* CRLF, tabs, indented comments, spaces everywhere, no final EOL. */
	static const char text[] =
		"# devirt.cfg with a driver and two guests\r\n"
		"\r\n"
		"  hypervisor_memory=128M  \r\n"
		"log\t=\tdebug\r\n"
		"   # indented comment\r\n"
		"\t\r\n"
		"[vm driver]\r\n"
		"role = driver\r\n"
		"kernel = \\EFI\\devirt\\vmlinuz\r\n"
		"initrd = \\EFI\\devirt\\initrd-driver.gz\r\n"
		"cmdline = console=ttyS0 root=/dev/ram0 a=b=c\r\n"
		"memory = 2G\r\n"
		"cpus = 2\r\n"
		"\r\n"
		"[vm web]\r\n"
		"\trole\t= guest\r\n"
		"  kernel =\\EFI\\guest\\bzImage\r\n"
		"memory= 512M\r\n"
		"\r\n"
		"[vm  db]\n"
		"role=guest\n"
		"kernel=k\n"
		"memory=65536K\n"
		"cpus=64\n"
		"cmdline=   quiet   ";

	CHECK_EQ(parse(text), 0);
	CHECK_STR(err, "");
	CHECK_EQ(cfg.nr_vms, 3);
	CHECK_EQ(cfg.hyp_memory, 128ULL << 20);
	CHECK_EQ(cfg.log_level, 2);

	CHECK_STR(cfg.vms[0].name, "driver");
	CHECK_EQ(cfg.vms[0].role, VM_ROLE_DRIVER);
	CHECK_STR(cfg.vms[0].kernel, "\\EFI\\devirt\\vmlinuz");
	CHECK_STR(cfg.vms[0].initrd, "\\EFI\\devirt\\initrd-driver.gz");
	CHECK_STR(cfg.vms[0].cmdline, "console=ttyS0 root=/dev/ram0 a=b=c");
	CHECK_EQ(cfg.vms[0].memory, 2ULL << 30);
	CHECK_EQ(cfg.vms[0].cpus, 2);

	CHECK_STR(cfg.vms[1].name, "web");
	CHECK_EQ(cfg.vms[1].role, VM_ROLE_GUEST);
	CHECK_STR(cfg.vms[1].kernel, "\\EFI\\guest\\bzImage");
	CHECK_STR(cfg.vms[1].initrd, "");
	CHECK_STR(cfg.vms[1].cmdline, "");
	CHECK_EQ(cfg.vms[1].memory, 512ULL << 20);
	CHECK_EQ(cfg.vms[1].cpus, 1); /* default */

	CHECK_STR(cfg.vms[2].name, "db");
	CHECK_EQ(cfg.vms[2].role, VM_ROLE_GUEST);
	CHECK_STR(cfg.vms[2].kernel, "k");
	CHECK_EQ(cfg.vms[2].memory, 64ULL << 20);
	CHECK_EQ(cfg.vms[2].cpus, 64);
	CHECK_STR(cfg.vms[2].cmdline, "quiet");
	CHECK_EQ(cfg.vms[3].name[0], 0);
}

#define DRIVER "[vm d]\nrole = driver\nkernel = k\n"

static void test_sizes(void)
{
	static const struct {
		const char *text;
		u64 bytes;
	} ok[] = {
		{ "64M", 64ULL << 20 },
		{ "64m", 64ULL << 20 },
		{ "65536K", 64ULL << 20 },
		{ "65536k", 64ULL << 20 },
		{ "1G", 1ULL << 30 },
		{ "3g", 3ULL << 30 },
		{ "67108864", 64ULL << 20 },
		{ "0100M", 100ULL << 20 },
		{ "16384G", 16384ULL << 30 },
		{ "17179869183G", 17179869183ULL << 30 }, /* largest */
	};
	static const char *const bad[] = {
		"",
		"M",
		"lots",
		"-64M",
		"+64M",
		"64 M",
		"64MB",
		"64T",
		"0x4000000",
		"63M",
		"0",
		"67108863", /* not a multiple of 4 KiB */
		"65537K",
		"99999999999999999999G", /* overflows while reading digits */
		"18446744073709551616", /* 2^64 */
		"17179869184G", /* 2^64 after the suffix */
	};
	char text[256];

	for (u32 i = 0; i < ARRAY_SIZE(ok); i++) {
		snprintf(text, sizeof(text), DRIVER "memory = %s\n",
			 ok[i].text);
		if (!CHECK_EQ(parse(text), 0))
			fprintf(stderr, "\t(memory = %s: %s)\n", ok[i].text,
				err);
		CHECK_EQ(cfg.vms[0].memory, ok[i].bytes);
	}
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), DRIVER "memory = %s\n", bad[i]);
		reject(text, 4, "memory needs a size of at least 64M");
	}

	/* hypervisor_memory: at least 16M, same suffixes. */
	CHECK_EQ(parse("hypervisor_memory = 16M\n" DRIVER "memory=1G\n"), 0);
	CHECK_EQ(cfg.hyp_memory, 16ULL << 20);
	CHECK_EQ(parse("hypervisor_memory = 1g\n" DRIVER "memory=1G\n"), 0);
	CHECK_EQ(cfg.hyp_memory, 1ULL << 30);
	CHECK_EQ(parse("hypervisor_memory = 20480k\n" DRIVER "memory=1G\n"), 0);
	CHECK_EQ(cfg.hyp_memory, 20ULL << 20);
	reject("hypervisor_memory = 15M\n" DRIVER "memory=1G\n", 1,
	       "hypervisor_memory needs a size of at least 16M");
	reject("hypervisor_memory = big\n" DRIVER "memory=1G\n", 1,
	       "hypervisor_memory needs a size");
	reject("hypervisor_memory = 99999999999999999999G\n" DRIVER
	       "memory=1G\n",
	       1, "hypervisor_memory needs a size");
	reject("hypervisor_memory =\n" DRIVER "memory=1G\n", 1,
	       "hypervisor_memory needs a size");
}

static void test_cpus(void)
{
	static const char *const ok[] = { "1", "2", "64", "007" };
	static const u32 okv[] = { 1, 2, 64, 7 };
	static const char *const bad[] = { "0",	  "65",		"100",
					   "-1",  "two",	"",
					   "1.5", "1234567890", "4 4" };
	char text[256];

	for (u32 i = 0; i < ARRAY_SIZE(ok); i++) {
		snprintf(text, sizeof(text), DRIVER "memory=1G\ncpus = %s\n",
			 ok[i]);
		CHECK_EQ(parse(text), 0);
		CHECK_EQ(cfg.vms[0].cpus, okv[i]);
	}
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), DRIVER "memory=1G\ncpus = %s\n",
			 bad[i]);
		reject(text, 5, "cpus must be a number from 1 to 64");
	}
}

/* --- rejections --- */

static void test_syntax_errors(void)
{
	reject(DRIVER "memory = 1G\nvcpus = 2\n", 5, "unknown VM setting");
	reject("loglevel = 2\n" DRIVER "memory = 1G\n", 1,
	       "unknown setting outside a [vm] section");
	reject(DRIVER "memory = 1G\nkernel\n", 5, "expected 'key = value'");
	reject("# c\n\nhypervisor_memory 64M\n" DRIVER "memory = 1G\n", 3,
	       "expected 'key = value'");
	reject(DRIVER "memory = 1G\n = x\n", 5, "missing key before '='");
	reject(DRIVER "memory = 1G\n\t=\n", 5, "missing key before '='");
	reject("log = loud\n" DRIVER "memory = 1G\n", 1,
	       "log must be quiet, info or debug");
	reject("[vm d]\nrole = boss\n", 2, "role must be driver or guest");

	/* Section headers. */
	reject("[vm]\n", 1, "a section must read [vm NAME]");
	reject("[vm ]\n", 1, "a section must read [vm NAME]");
	reject("[vmd]\n", 1, "a section must read [vm NAME]");
	reject("[vmx d]\n", 1, "a section must read [vm NAME]");
	reject("[VM d]\n", 1, "a section must read [vm NAME]");
	reject("[guest d]\n", 1, "a section must read [vm NAME]");
	reject("\n[vm d\n", 2, "a section must read [vm NAME]");
	reject("[ vm d]\n", 1, "a section must read [vm NAME]");
	reject("[vm d] x\n", 1, "a section must read [vm NAME]");
	reject("[\n", 1, "a section must read [vm NAME]");
	reject("]\n", 1, "expected 'key = value'");
	reject("[vm    ]\n", 1, "empty VM name");

	/* A header with spaces and a CR around the name. */
	CHECK_EQ(parse("[vm \t d1]\r\nrole=driver\nkernel=k\nmemory=1G\n"), 0);
	CHECK_STR(cfg.vms[0].name, "d1");
	/* Spaces after the name are trimmed like those before it. */
	CHECK_EQ(parse("[vm d1 \t]\nrole=driver\nkernel=k\nmemory=1G\n"), 0);
	CHECK_STR(cfg.vms[0].name, "d1");
	reject(DRIVER "memory = 1G\n[vm d ]\nrole = guest\n", 5,
	       "VM name used twice");
}

static void test_vm_set_errors(void)
{
	reject(DRIVER "memory = 1G\n[vm d]\nrole = guest\n", 5,
	       "VM name used twice");
	reject(DRIVER "memory = 1G\n[vm e]\nrole = guest\n[vm d]\n", 7,
	       "VM name used twice");
	reject(DRIVER "memory = 1G\n"
		      "[vm d2]\nrole = driver\nkernel = k\nmemory = 1G\n",
	       0, "more than one driver VM ('d2')");
	reject("[vm g]\nrole = guest\nkernel = k\nmemory = 1G\n" DRIVER
	       "memory = 1G\n",
	       0, "the first VM must be the driver VM, not 'g'");
	reject("[vm g]\nrole = guest\nkernel = k\nmemory = 1G\n", 0,
	       "the first VM must be the driver VM, not 'g'");
	reject("[vm d]\nrole = driver\nmemory = 1G\n", 0,
	       "VM 'd' has no kernel");
	reject("[vm d]\nrole = driver\nkernel =\nmemory = 1G\n", 0,
	       "VM 'd' has no kernel");
	reject(DRIVER "memory = 1G\n[vm g]\nrole = guest\nmemory = 1G\n", 0,
	       "VM 'g' has no kernel");
	reject(DRIVER, 0, "VM 'd' has no memory size");
	reject("[vm d]\nkernel = k\nmemory = 1G\n", 0,
	       "VM 'd' has no role (driver or guest)");
}

static void test_too_many_vms(void)
{
	char text[1024];
	size_t o = 0;

	o += (size_t)snprintf(text + o, sizeof(text) - o,
			      "# %u VMs fit\n" DRIVER "memory = 1G\n",
			      CFG_MAX_VMS);
	for (u32 i = 1; i < CFG_MAX_VMS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "[vm g%u]\nrole = guest\nkernel = k\n"
				      "memory = 64M\n",
				      i);
	CHECK_EQ(parse(text), 0);
	CHECK_EQ(cfg.nr_vms, CFG_MAX_VMS);
	CHECK_STR(cfg.vms[CFG_MAX_VMS - 1].name, "g3");

	/* One more: the message names the line of the extra section. */
	snprintf(text + o, sizeof(text) - o, "\n[vm extra]\nrole = guest\n");
	reject(text, 1 + 4 + 4 * (CFG_MAX_VMS - 1) + 2,
	       "too many VMs (at most 4)");
}

static void test_too_long(void)
{
	char text[2048], value[CFG_CMDLINE_LEN + 2];

	/* CFG_PATH_LEN - 1 characters fit, CFG_PATH_LEN do not. */
	memset(value, 'p', CFG_PATH_LEN - 1);
	value[CFG_PATH_LEN - 1] = 0;
	snprintf(text, sizeof(text), DRIVER "memory = 1G\ninitrd = %s\n",
		 value);
	CHECK_EQ(parse(text), 0);
	CHECK_EQ(strlen(cfg.vms[0].initrd), CFG_PATH_LEN - 1);
	value[CFG_PATH_LEN - 1] = 'p';
	value[CFG_PATH_LEN] = 0;
	snprintf(text, sizeof(text), DRIVER "memory = 1G\ninitrd = %s\n",
		 value);
	reject(text, 5, "value of 'initrd' is too long");
	snprintf(text, sizeof(text), "[vm d]\nkernel = %s\n", value);
	reject(text, 2, "value of 'kernel' is too long");

	memset(value, 'c', CFG_CMDLINE_LEN - 1);
	value[CFG_CMDLINE_LEN - 1] = 0;
	snprintf(text, sizeof(text), DRIVER "memory = 1G\ncmdline = %s\n",
		 value);
	CHECK_EQ(parse(text), 0);
	CHECK_EQ(strlen(cfg.vms[0].cmdline), CFG_CMDLINE_LEN - 1);
	value[CFG_CMDLINE_LEN - 1] = 'c';
	value[CFG_CMDLINE_LEN] = 0;
	snprintf(text, sizeof(text), DRIVER "memory = 1G\ncmdline = %s\n",
		 value);
	reject(text, 5, "value of 'cmdline' is too long");

	/* VM names: CFG_NAME_LEN - 1 characters. */
	CHECK_EQ(parse("[vm 123456789012345]\nrole=driver\nkernel=k\n"
		       "memory=1G\n"),
		 0);
	CHECK_STR(cfg.vms[0].name, "123456789012345");
	reject("[vm 1234567890123456]\n", 1, "value of 'vm name' is too long");
}

static void test_bad_bytes(void)
{
	static const char nul[] = DRIVER "memory = 1G\ncmdline = a\0b\n";
	char text[128];

	reject_n(nul, sizeof(nul) - 1, 5, "control or NUL byte in the file",
		 __LINE__);
	/* A NUL alone on a line, and one at the very end. */
	reject_n(DRIVER "\0\n", sizeof(DRIVER), 4,
		 "control or NUL byte in the file", __LINE__);
	reject_n(DRIVER "memory = 1G\n\0", sizeof(DRIVER) + 12, 5,
		 "control or NUL byte in the file", __LINE__);
	/* Even inside a comment. */
	reject("# \x01\n" DRIVER "memory = 1G\n", 1,
	       "control or NUL byte in the file");
	for (int c = 1; c < 0x20; c++) {
		if (c == '\t' || c == '\r' || c == '\n')
			continue;
		snprintf(text, sizeof(text),
			 DRIVER "memory = 1G\ncmdline = a%cb\n", c);
		reject(text, 5, "control or NUL byte in the file");
	}
	/* Tabs and CRs are whitespace; bytes above 0x7f pass through. */
	CHECK_EQ(parse(DRIVER "memory = 1G\r\ncmdline = a\tb\xc3\xa9\r\n"), 0);
	CHECK_STR(cfg.vms[0].cmdline, "a\tb\xc3\xa9");
}

static void test_empty(void)
{
	reject("", 0, "no [vm NAME] section");
	reject("\n\n\n", 0, "no [vm NAME] section");
	reject("# only\n# comments\r\n   # here\n", 0, "no [vm NAME] section");
	reject("hypervisor_memory = 64M\nlog = quiet\n", 0,
	       "no [vm NAME] section");
	/* A length of zero reads nothing, whatever the pointer holds. */
	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ(config_parse(DRIVER "memory = 1G\n", 0, &cfg, err,
			      sizeof(err)),
		 -1);
	CHECK_HAS(err, "no [vm NAME] section");
	/* Only the first @len bytes count. */
	CHECK_EQ(config_parse(DRIVER "memory = 1G\nbogus\n",
			      sizeof(DRIVER) - 1 + 12, &cfg, err, sizeof(err)),
		 0);
	CHECK_EQ(cfg.vms[0].memory, 1ULL << 30);
}

/* The defaults when the globals are left out; log levels. */
static void test_globals(void)
{
	static const char *const levels[] = { "quiet", "info", "debug" };
	char text[128];

	CHECK_EQ(parse(DRIVER "memory = 1G\n"), 0);
	CHECK_EQ(cfg.log_level, 1);
	CHECK_EQ(cfg.hyp_memory, 64ULL << 20);
	for (u32 i = 0; i < ARRAY_SIZE(levels); i++) {
		snprintf(text, sizeof(text), "log = %s\n" DRIVER "memory=1G\n",
			 levels[i]);
		CHECK_EQ(parse(text), 0);
		CHECK_EQ(cfg.log_level, i);
	}
	/* boot = hypervisor (the default) or bare. */
	CHECK_EQ(cfg.bare, 0);
	CHECK_EQ(parse("boot = bare\n" DRIVER "memory = 1G\n"), 0);
	CHECK_EQ(cfg.bare, 1);
	CHECK_EQ(parse("boot = hypervisor\n" DRIVER "memory = 1G\n"), 0);
	CHECK_EQ(cfg.bare, 0);
	reject("boot = metal\n" DRIVER "memory = 1G\n", 1,
	       "boot must be hypervisor or bare");
	reject(DRIVER "memory = 1G\nboot = bare\n", 5, "unknown VM setting");
	/* Global keys inside a [vm] section are VM settings: unknown. */
	reject(DRIVER "memory = 1G\nlog = debug\n", 5, "unknown VM setting");
	/* Later values win. */
	CHECK_EQ(parse(DRIVER "memory = 1G\nmemory = 2G\ncpus=3\ncpus=4\n"), 0);
	CHECK_EQ(cfg.vms[0].memory, 2ULL << 30);
	CHECK_EQ(cfg.vms[0].cpus, 4);
}

#define GUEST "[vm g]\nrole = guest\nkernel = k\nmemory = 64M\n"

/* `devices = GLOB, ...`: user guests only, stored as "a,b,c". */
static void test_devices(void)
{
	static const struct {
		const char *value, *stored;
	} ok[] = {
		{ "dri/card0, input/event*, snd/*, video0",
		  "dri/card0,input/event*,snd/*,video0" },
		{ "*", "*" },
		{ "\tdevfile_test* ,  a  ", "devfile_test*,a" },
		{ "a,b", "a,b" },
		{ "A-Z_a+z:0.9?/x", "A-Z_a+z:0.9?/x" },
		{ "a..b, ..., ..x, x.., ./a, a/.", "a..b,...,..x,x..,./a,a/." },
		{ "", "" },
	};
	static const char *const bad_char[] = {
		"a b",	 "a\\b",  "dri/card[0]", "snd/$x", "a;b",
		"\"a\"", "'a'",	  "a\xc3\xa9",	 "x, y z", "a#b",
		"a=b",	 "{a,b}", "a|b",	 "~",	   "a%",
	};
	static const char *const dotdot[] = { "..",   "../x",	 "a/../b",
					      "a/..", "x, */..", "a//.." };
	static const char *const empty[] = { ",",    "a,",    ",a",
					     "a,,b", "a, ,b", " , " };
	char text[1024];

	/* Absent: nothing allowed, for guests and the driver VM alike. */
	CHECK_EQ(parse(DRIVER "memory = 1G\n" GUEST), 0);
	CHECK_STR(cfg.vms[0].devices, "");
	CHECK_STR(cfg.vms[1].devices, "");
	for (u32 i = 0; i < ARRAY_SIZE(ok); i++) {
		snprintf(text, sizeof(text),
			 DRIVER "memory = 1G\n" GUEST "devices = %s\n",
			 ok[i].value);
		if (!CHECK_EQ(parse(text), 0))
			fprintf(stderr, "\t(devices = %s: %s)\n", ok[i].value,
				err);
		CHECK_STR(cfg.vms[1].devices, ok[i].stored);
		CHECK_STR(cfg.vms[0].devices, "");
	}
	/* The last line wins, an empty one too. */
	CHECK_EQ(parse(DRIVER "memory = 1G\n" GUEST
			      "devices = a\ndevices = b, c\n"),
		 0);
	CHECK_STR(cfg.vms[1].devices, "b,c");
	CHECK_EQ(parse(DRIVER "memory = 1G\n" GUEST "devices = a\ndevices =\n"),
		 0);
	CHECK_STR(cfg.vms[1].devices, "");
	/* Each guest has its own. */
	CHECK_EQ(parse(DRIVER "memory = 1G\n" GUEST "devices = x*\n"
			      "[vm h]\ndevices = y\nrole = guest\nkernel = k\n"
			      "memory = 64M\n"),
		 0);
	CHECK_STR(cfg.vms[1].devices, "x*");
	CHECK_STR(cfg.vms[2].devices, "y");

	for (u32 i = 0; i < ARRAY_SIZE(bad_char); i++) {
		snprintf(text, sizeof(text),
			 DRIVER "memory = 1G\n" GUEST "devices = %s\n",
			 bad_char[i]);
		reject(text, 9,
		       "has a character other than letters, digits and _+:.*?/-");
	}
	reject(DRIVER "memory = 1G\n" GUEST "devices = a, b c\n", 9,
	       "devices: pattern 'b c' has a character");
	for (u32 i = 0; i < ARRAY_SIZE(dotdot); i++) {
		snprintf(text, sizeof(text),
			 DRIVER "memory = 1G\n" GUEST "devices = %s\n",
			 dotdot[i]);
		reject(text, 9, "has a '..' component");
	}
	reject(DRIVER "memory = 1G\n" GUEST "devices = a/../b\n", 9,
	       "devices: pattern 'a/../b' has a '..' component");
	reject(DRIVER "memory = 1G\n" GUEST "devices = /dev/null\n", 9,
	       "pattern '/dev/null' starts with '/' (names are relative to /dev)");
	reject(DRIVER "memory = 1G\n" GUEST "devices = a, /*\n", 9,
	       "starts with '/'");
	for (u32 i = 0; i < ARRAY_SIZE(empty); i++) {
		snprintf(text, sizeof(text),
			 DRIVER "memory = 1G\n" GUEST "devices = %s\n",
			 empty[i]);
		reject(text, 9, "devices: empty pattern (a stray ',')");
	}

	/* The driver VM owns every device: the key is an error there, in
	 * either order with role, even empty. */
	reject(DRIVER "memory = 1G\ndevices = *\n" GUEST, 5,
	       "devices: only user guests have a device list, not the driver VM");
	reject("[vm d]\ndevices = a\nrole = driver\nkernel = k\nmemory = 1G\n",
	       2, "only user guests have a device list");
	reject(DRIVER "devices =\nmemory = 1G\n", 4,
	       "only user guests have a device list");
	/* Still a VM setting: unknown outside a section. */
	reject("devices = *\n" DRIVER "memory = 1G\n", 1,
	       "unknown setting outside a [vm] section");
}

/* CFG_DEVICES_LEN - 1 bytes once normalised, spaces not counted. */
static void test_devices_too_long(void)
{
	char text[2048], value[1024];
	const size_t max = CFG_DEVICES_LEN - 1;

	/* One pattern: max fits, max + 1 does not. */
	for (size_t len = max - 2; len <= max + 2; len++) {
		memset(value, 'p', len);
		value[len] = 0;
		snprintf(text, sizeof(text),
			 DRIVER "memory = 1G\n" GUEST "devices = %s\n", value);
		if (len <= max) {
			CHECK_EQ(parse(text), 0);
			CHECK_EQ(strlen(cfg.vms[1].devices), len);
			CHECK_EQ(cfg.vms[1].devices[len - 1], 'p');
		} else {
			reject(text, 9, "value of 'devices' is too long");
		}
	}
	/* Two, with spaces: the comma counts, the spaces do not. */
	for (size_t len = max - 2; len <= max + 2; len++) {
		size_t a = len / 2, b = len - 1 - a;

		memset(value, 'a', a);
		memcpy(value + a, "  ,\t ", 5);
		memset(value + a + 5, 'b', b);
		value[a + 5 + b] = 0;
		snprintf(text, sizeof(text),
			 DRIVER "memory = 1G\n" GUEST "devices = %s\n", value);
		if (len <= max) {
			CHECK_EQ(parse(text), 0);
			CHECK_EQ(strlen(cfg.vms[1].devices), len);
			CHECK_EQ(cfg.vms[1].devices[a], ',');
		} else {
			reject(text, 9, "value of 'devices' is too long");
		}
	}
	/* Many short ones. */
	value[0] = 0;
	for (u32 i = 0; i < 128; i++)
		strcat(value, i ? ", x" : "x");
	snprintf(text, sizeof(text),
		 DRIVER "memory = 1G\n" GUEST "devices = %s\n", value);
	CHECK_EQ(parse(text), 0); /* 128 x + 127 commas = 255 */
	CHECK_EQ(strlen(cfg.vms[1].devices), 255);
	strcat(value, ",y");
	snprintf(text, sizeof(text),
		 DRIVER "memory = 1G\n" GUEST "devices = %s\n", value);
	reject(text, 9, "value of 'devices' is too long");
	/* The stored list is NUL-terminated in its field. */
	CHECK_EQ(sizeof(cfg.vms[1].devices), CFG_DEVICES_LEN);
}

int main(void)
{
	test_shipped_config();
	test_other_shipped_configs();
	test_three_vms();
	test_sizes();
	test_cpus();
	test_syntax_errors();
	test_vm_set_errors();
	test_too_many_vms();
	test_too_long();
	test_bad_bytes();
	test_empty();
	test_globals();
	test_devices();
	test_devices_too_long();
	return unit_done();
}
