// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercall ABI 0.4, DEVIRT_ABI_MAJOR.DEVIRT_ABI_MINOR (docs/hypercall-abi.md,
 * vmm/include/devirt/hypercall.h); the device-file calls it dispatches to
 * devfile/hypercalls.c carry requests of the devfile protocol 1.3
 * (DEVFILE_PROTO_MAJOR.DEVFILE_PROTO_MINOR, devfile/include/devfile/proto.h).
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/palloc.h"
#include "../core/x86.h"
#include <devirt/hypercall.h>

extern const u8 __text_start[], __ro_end[];
static u64 text_checksum_boot;

/*
 * A page of devirt's writable data that nothing of devirt writes after
 * boot: a store that leaked from a VM into devirt's data would change it
 * where the code checksum cannot see (tests/modules/devirt_test.c).
 */
static u64 canary[PAGE_SIZE / 8] __attribute__((aligned(PAGE_SIZE)));

static u64 canary_word(u32 i)
{
	return 0x6465766972740000ULL | i; /* "devirt" and the index */
}

static u64 canary_bad(void)
{
	u64 bad = 0;

	for (u32 i = 0; i < ARRAY_SIZE(canary); i++)
		bad += __atomic_load_n(&canary[i], __ATOMIC_RELAXED) !=
		       canary_word(i);
	return bad;
}

/*
 * FNV-1a over the hypervisor's code and read-only data (up to .data):
 * changes if anything wrote to them.
 */
static u64 text_checksum(void)
{
	u64 h = 0xcbf29ce484222325ULL;

	for (const u8 *p = __text_start; p < __ro_end; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

void hypercall_init(void)
{
	for (u32 i = 0; i < ARRAY_SIZE(canary); i++)
		canary[i] = canary_word(i);
	text_checksum_boot = text_checksum();
}

static s64 hc_console_write(struct vcpu *vcpu, u64 gva, u64 len)
{
	char buf[DEVIRT_CONSOLE_MAX + 1];
	int r;

	if (len > DEVIRT_CONSOLE_MAX)
		return DEVIRT_EINVAL;
	r = gva_read(vcpu, gva, buf, len);
	if (r)
		return r;
	/* The log is for people: no control characters from a guest. */
	for (u64 i = 0; i < len; i++)
		if ((buf[i] < 0x20 && buf[i] != '\n') || buf[i] == 0x7f)
			buf[i] = '?';
	while (len && buf[len - 1] == '\n')
		len--;
	buf[len] = 0;
	pr_info("[%s] console: %s\n", vcpu->vm->name, buf);
	return (s64)len;
}

static s64 hc_hv_info(struct vcpu *vcpu, u64 gva, u64 size)
{
	struct devirt_hv_info info;
	struct vm *vm = vcpu->vm;

	if (size < DEVIRT_HV_INFO_SIZE_V01)
		return DEVIRT_EINVAL;
	memset(&info, 0, sizeof(info));
	info.abi = (DEVIRT_ABI_MAJOR << 16) | DEVIRT_ABI_MINOR;
	info.backend = boot_info->backend;
	info.hyp_base = boot_info->hyp_base;
	info.hyp_size = boot_info->hyp_size;
	info.vm_id = vm->id;
	info.refused = vm->refused + vm->refused_io + vm->refused_msr +
		       vm->refused_ipi;
	info.hyp_checksum = text_checksum();
	info.hyp_checksum_boot = text_checksum_boot;
	info.refused_io = vm->refused_io;
	info.refused_msr = vm->refused_msr;
	info.refused_ipi = vm->refused_ipi;
	info.tsc_khz = boot_info->tsc_hz / 1000;
	/* The layout is not a secret; what is in it is protected. */
	for (u32 i = 0; i < vm_count() && i < DEVIRT_MAX_VMS; i++) {
		struct vm *o = vm_get(i);
		struct devirt_vm_desc *d = &info.vm[i];

		strlcpy(d->name, o->name, sizeof(d->name));
		d->role = o->role;
		d->state = o->state;
		d->ram_lo = o->ram_lo;
		d->ram_hi = o->ram_hi;
		d->ram_bytes = o->ram_bytes;
		d->apic_id = o->nr_vcpus ? o->vcpus[0].apic_id : ~0ULL;
		info.nr_vms++;
	}
	info.heap_used_pages = palloc_used_pages();
	info.heap_total_pages = palloc_total_pages();
	info.hyp_canary = virt_to_phys(canary);
	info.hyp_canary_bad = canary_bad();
	return gva_write(vcpu, gva, &info, MIN(size, (u64)sizeof(info)));
}

void handle_hypercall(struct vcpu *vcpu)
{
	struct guest_regs *r = &vcpu->regs;
	s64 ret;

	if (arch->guest_cpl(vcpu) != 0) {
		ret = DEVIRT_EPERM;
		goto out;
	}
	switch (r->rax) {
	case DEVIRT_HC_VERSION:
		ret = (DEVIRT_ABI_MAJOR << 16) | DEVIRT_ABI_MINOR;
		break;
	case DEVIRT_HC_CONSOLE_WRITE:
		ret = hc_console_write(vcpu, r->rdi, r->rsi);
		break;
	case DEVIRT_HC_HV_INFO:
		ret = hc_hv_info(vcpu, r->rdi, r->rsi);
		break;
	case DEVIRT_HC_DEVFILE_ATTACH ... DEVIRT_HC_MAX - 1:
		ret = devfile_hypercall(vcpu, r->rax, r->rdi, r->rsi, r->rdx);
		break;
	default:
		ret = DEVIRT_ENOSYS;
	}
out:
	if (ret < 0)
		pr_debug("[%s] hypercall %lu failed: %ld\n", vcpu->vm->name,
			 r->rax, ret);
	r->rax = (u64)ret;
	vcpu_skip(vcpu, 0);
}
