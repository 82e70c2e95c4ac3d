// SPDX-License-Identifier: GPL-2.0
/*
 * Parser for devirt.cfg. Format (docs/boot-config.md):
 *
 *   # comment
 *   hypervisor_memory = 64M
 *   log = info
 *   [vm driver]
 *   role = driver
 *   kernel = \EFI\devirt\vmlinuz
 *   ...
 *
 * Pure C with no library calls, so that the UEFI loader and the native unit
 * tests share it. Every rejection names the line and the reason.
 */
#include <devirt/config.h>

#define MIN_VM_MEMORY (64ULL << 20)
#define MIN_HYP_MEMORY (16ULL << 20)
#define STR_(x) #x
#define STR(x) STR_(x)

struct parser {
	const char *p, *end;
	u32 line;
	char *err;
	size_t errlen;
	u32 vm; /* index of the current [vm] section */
	u32 devices_line[CFG_MAX_VMS]; /* its last `devices` line, or 0 */
};

static size_t slen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static bool seq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++)
		if (!b[i] || a[i] != b[i])
			return false;
	return b[i] == 0;
}

/* Minimal formatter: %s and %u only, enough for error messages. */
static void fail(struct parser *ps, const char *fmt, const char *s, u64 n)
{
	size_t o = 0;
	char num[24];

	for (; *fmt && o + 1 < ps->errlen; fmt++) {
		const char *ins = NULL;

		if (fmt[0] == '%' && fmt[1] == 's') {
			ins = s;
		} else if (fmt[0] == '%' && fmt[1] == 'u') {
			int k = 23;

			num[k] = 0;
			do {
				num[--k] = (char)('0' + n % 10);
				n /= 10;
			} while (n);
			ins = &num[k];
		}
		if (ins) {
			fmt++;
			while (*ins && o + 1 < ps->errlen)
				ps->err[o++] = *ins++;
		} else {
			ps->err[o++] = *fmt;
		}
	}
	if (ps->errlen)
		ps->err[o] = 0;
}

static bool parse_size(const char *v, size_t len, u64 *out)
{
	u64 n = 0, mul = 1;
	size_t i = 0;

	if (!len)
		return false;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		if (n > (~0ULL - 9) / 10)
			return false;
		n = n * 10 + (u64)(v[i] - '0');
	}
	if (i == 0)
		return false;
	if (i < len) {
		switch (v[i]) {
		case 'K':
		case 'k':
			mul = 1ULL << 10;
			break;
		case 'M':
		case 'm':
			mul = 1ULL << 20;
			break;
		case 'G':
		case 'g':
			mul = 1ULL << 30;
			break;
		default:
			return false;
		}
		if (++i != len)
			return false;
	}
	if (n > ~0ULL / mul)
		return false;
	*out = n * mul;
	return true;
}

static bool parse_uint(const char *v, size_t len, u64 *out)
{
	u64 n = 0;

	if (!len || len > 9)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		n = n * 10 + (u64)(v[i] - '0');
	}
	*out = n;
	return true;
}

static int copy_str(struct parser *ps, char *dst, size_t cap, const char *v,
		    size_t len, const char *key)
{
	if (len >= cap) {
		fail(ps, "line %u: value of '%s' is too long", key, ps->line);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		dst[i] = v[i];
	dst[len] = 0;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int set_global(struct parser *ps, struct devirt_config *cfg,
		      const char *k, size_t klen, const char *v, size_t vlen)
{
	if (seq(k, klen, "hypervisor_memory")) {
		if (!parse_size(v, vlen, &cfg->hyp_memory) ||
		    cfg->hyp_memory < MIN_HYP_MEMORY) {
			fail(ps,
			     "line %u: hypervisor_memory needs a size of at least 16M%s",
			     "", ps->line);
			return -1;
		}
		return 0;
	}
	if (seq(k, klen, "log")) {
		if (seq(v, vlen, "quiet"))
			cfg->log_level = 0;
		else if (seq(v, vlen, "info"))
			cfg->log_level = 1;
		else if (seq(v, vlen, "debug"))
			cfg->log_level = 2;
		else {
			fail(ps, "line %u: log must be quiet, info or debug%s",
			     "", ps->line);
			return -1;
		}
		return 0;
	}
	if (seq(k, klen, "boot")) {
		if (seq(v, vlen, "hypervisor"))
			cfg->bare = 0;
		else if (seq(v, vlen, "bare"))
			cfg->bare = 1;
		else {
			fail(ps, "line %u: boot must be hypervisor or bare%s",
			     "", ps->line);
			return -1;
		}
		return 0;
	}
	fail(ps, "line %u: unknown setting outside a [vm] section%s", "",
	     ps->line);
	return -1;
}

static bool pattern_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '+' || c == ':' ||
	       c == '.' || c == '*' || c == '?' || c == '/' || c == '-';
}

/* One glob of `devices`: a name (or names) relative to /dev. */
static int check_pattern(struct parser *ps, const char *p, size_t len)
{
	char shown[48];
	size_t n = MIN(len, sizeof(shown) - 1), c;

	for (size_t i = 0; i < n; i++)
		shown[i] = p[i];
	shown[n] = 0;
	for (size_t i = 0; i < len; i++) {
		if (!pattern_char(p[i])) {
			fail(ps,
			     "line %u: devices: pattern '%s' has a character other than letters, digits and _+:.*?/-",
			     shown, ps->line);
			return -1;
		}
	}
	if (p[0] == '/') {
		fail(ps,
		     "line %u: devices: pattern '%s' starts with '/' (names are relative to /dev)",
		     shown, ps->line);
		return -1;
	}
	/* Components between slashes: none may be "..". */
	for (size_t i = 0; i < len; i = c + 1) {
		for (c = i; c < len && p[c] != '/'; c++)
			;
		if (c - i == 2 && p[i] == '.' && p[i + 1] == '.') {
			fail(ps,
			     "line %u: devices: pattern '%s' has a '..' component",
			     shown, ps->line);
			return -1;
		}
	}
	return 0;
}

_Static_assert(CFG_DEVICES_LEN == 256, "the message below says 255");

/*
 * devices = GLOB, GLOB, ...: the device files a user guest may open
 * through the driver VM, stored without spaces as "a,b,c". An empty value
 * (like no key at all) allows none.
 */
static int set_devices(struct parser *ps, struct vm_config *vm, const char *v,
		       size_t vlen)
{
	size_t o = 0, i = 0;

	vm->devices[0] = 0;
	ps->devices_line[ps->vm] = ps->line;
	while (vlen && i <= vlen) {
		size_t s = i, e;

		while (i < vlen && v[i] != ',')
			i++;
		e = i++;
		while (s < e && is_space(v[s]))
			s++;
		while (e > s && is_space(v[e - 1]))
			e--;
		if (s == e) {
			fail(ps,
			     "line %u: devices: empty pattern (a stray ',')%s",
			     "", ps->line);
			return -1;
		}
		if (check_pattern(ps, v + s, e - s))
			return -1;
		if (o + (o ? 1 : 0) + (e - s) >= CFG_DEVICES_LEN) {
			fail(ps,
			     "line %u: value of 'devices' is too long (255 bytes without spaces)%s",
			     "", ps->line);
			return -1;
		}
		if (o)
			vm->devices[o++] = ',';
		while (s < e)
			vm->devices[o++] = v[s++];
		vm->devices[o] = 0;
	}
	return 0;
}

static int set_vm(struct parser *ps, struct vm_config *vm, const char *k,
		  size_t klen, const char *v, size_t vlen)
{
	u64 n;

	if (seq(k, klen, "role")) {
		if (seq(v, vlen, "driver"))
			vm->role = VM_ROLE_DRIVER;
		else if (seq(v, vlen, "guest"))
			vm->role = VM_ROLE_GUEST;
		else {
			fail(ps, "line %u: role must be driver or guest%s", "",
			     ps->line);
			return -1;
		}
		return 0;
	}
	if (seq(k, klen, "kernel"))
		return copy_str(ps, vm->kernel, sizeof(vm->kernel), v, vlen,
				"kernel");
	if (seq(k, klen, "initrd"))
		return copy_str(ps, vm->initrd, sizeof(vm->initrd), v, vlen,
				"initrd");
	if (seq(k, klen, "cmdline"))
		return copy_str(ps, vm->cmdline, sizeof(vm->cmdline), v, vlen,
				"cmdline");
	if (seq(k, klen, "devices"))
		return set_devices(ps, vm, v, vlen);
	if (seq(k, klen, "memory")) {
		if (!parse_size(v, vlen, &vm->memory) ||
		    vm->memory < MIN_VM_MEMORY || (vm->memory & 0xfff)) {
			fail(ps,
			     "line %u: memory needs a size of at least 64M, e.g. 512M%s",
			     "", ps->line);
			return -1;
		}
		return 0;
	}
	if (seq(k, klen, "cpus")) {
		if (!parse_uint(v, vlen, &n) || n < 1 || n > 64) {
			fail(ps,
			     "line %u: cpus must be a number from 1 to 64%s",
			     "", ps->line);
			return -1;
		}
		vm->cpus = (u32)n;
		return 0;
	}
	fail(ps, "line %u: unknown VM setting%s", "", ps->line);
	return -1;
}

static int finish(struct parser *ps, struct devirt_config *cfg)
{
	u32 drivers = 0;

	if (!cfg->nr_vms) {
		fail(ps,
		     "no [vm NAME] section: at least the driver VM is needed%s",
		     "", 0);
		return -1;
	}
	for (u32 i = 0; i < cfg->nr_vms; i++) {
		struct vm_config *vm = &cfg->vms[i];

		if (!vm->role) {
			fail(ps, "VM '%s' has no role (driver or guest)",
			     vm->name, 0);
			return -1;
		}
		/* It owns every device: a list would mean nothing. */
		if (vm->role == VM_ROLE_DRIVER && ps->devices_line[i]) {
			fail(ps,
			     "line %u: devices: only user guests have a device list, not the driver VM%s",
			     "", ps->devices_line[i]);
			return -1;
		}
		if (vm->role == VM_ROLE_DRIVER && drivers++) {
			fail(ps, "more than one driver VM ('%s')", vm->name, 0);
			return -1;
		}
		if (!vm->kernel[0]) {
			fail(ps, "VM '%s' has no kernel", vm->name, 0);
			return -1;
		}
		if (!vm->memory) {
			fail(ps, "VM '%s' has no memory size", vm->name, 0);
			return -1;
		}
		if (!vm->cpus)
			vm->cpus = 1;
	}
	if (cfg->vms[0].role != VM_ROLE_DRIVER) {
		fail(ps, "the first VM must be the driver VM, not '%s'",
		     cfg->vms[0].name, 0);
		return -1;
	}
	return 0;
}

int config_parse(const char *text, size_t len, struct devirt_config *cfg,
		 char *err, size_t errlen)
{
	struct parser ps = {
		.p = text, .end = text + len, .err = err, .errlen = errlen
	};
	struct vm_config *cur = NULL;
	u8 *raw = (u8 *)cfg;

	for (size_t i = 0; i < sizeof(*cfg); i++)
		raw[i] = 0;
	cfg->log_level = 1;
	cfg->hyp_memory = 64ULL << 20;
	if (errlen)
		err[0] = 0;

	while (ps.p < ps.end) {
		const char *s = ps.p, *e = ps.p, *k, *v, *eq;
		size_t klen, vlen;

		while (e < ps.end && *e != '\n')
			e++;
		ps.p = e < ps.end ? e + 1 : e;
		ps.line++;
		for (const char *c = s; c < e; c++) {
			if (*c == 0 || *c == 0x7f ||
			    ((u8)*c < 0x20 && *c != '\t' && *c != '\r')) {
				fail(&ps,
				     "line %u: control or NUL byte in the file%s",
				     "", ps.line);
				return -1;
			}
		}
		while (s < e && is_space(*s))
			s++;
		while (e > s && is_space(e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;
		if (*s == '[') {
			const char *n, *ne;

			if (e[-1] != ']' || e - s < 6 || s[1] != 'v' ||
			    s[2] != 'm' || !is_space(s[3])) {
				fail(&ps,
				     "line %u: a section must read [vm NAME]%s",
				     "", ps.line);
				return -1;
			}
			n = s + 4;
			while (n < e - 1 && is_space(*n))
				n++;
			ne = e - 1;
			while (ne > n && is_space(ne[-1]))
				ne--;
			if (cfg->nr_vms == CFG_MAX_VMS) {
				fail(&ps,
				     "line %u: too many VMs (at most " STR(
					     CFG_MAX_VMS) ")%s",
				     "", ps.line);
				return -1;
			}
			ps.vm = cfg->nr_vms;
			cur = &cfg->vms[cfg->nr_vms++];
			if (copy_str(&ps, cur->name, sizeof(cur->name), n,
				     (size_t)(ne - n), "vm name"))
				return -1;
			if (!cur->name[0]) {
				fail(&ps, "line %u: empty VM name%s", "",
				     ps.line);
				return -1;
			}
			for (u32 j = 0; j + 1 < cfg->nr_vms; j++) {
				if (seq(cfg->vms[j].name,
					slen(cfg->vms[j].name), cur->name)) {
					fail(&ps,
					     "line %u: VM name used twice%s",
					     "", ps.line);
					return -1;
				}
			}
			continue;
		}
		eq = s;
		while (eq < e && *eq != '=')
			eq++;
		if (eq == e) {
			fail(&ps, "line %u: expected 'key = value'%s", "",
			     ps.line);
			return -1;
		}
		k = s;
		klen = (size_t)(eq - s);
		while (klen && is_space(k[klen - 1]))
			klen--;
		v = eq + 1;
		while (v < e && is_space(*v))
			v++;
		vlen = (size_t)(e - v);
		if (!klen) {
			fail(&ps, "line %u: missing key before '='%s", "",
			     ps.line);
			return -1;
		}
		if (cur ? set_vm(&ps, cur, k, klen, v, vlen) :
			  set_global(&ps, cfg, k, klen, v, vlen))
			return -1;
	}
	return finish(&ps, cfg);
}
