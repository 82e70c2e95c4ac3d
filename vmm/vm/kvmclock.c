// SPDX-License-Identifier: GPL-2.0
/*
 * kvmclock for user guests: the KVM paravirtual clock ABI that the stock
 * kernel speaks (CONFIG_KVM_GUEST; Documentation/virt/kvm/x86/msr.rst).
 * Without it a guest with no PIT, HPET or PM timer cannot learn its TSC
 * rate. A guest owns its CPU and the TSC is invariant, so one time record
 * written when the guest enables it stays valid: no updates, no exits.
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"

#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define PVCLOCK_TSC_STABLE_BIT 1

struct pvclock_vcpu_time_info {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	s8 tsc_shift;
	u8 flags;
	u8 pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
	u32 version;
	u32 sec;
	u32 nsec;
} __attribute__((packed));

#define NSEC 1000000000ULL

static u64 tsc_to_ns(u64 delta, u64 hz)
{
	return (delta / hz) * NSEC + (delta % hz) * NSEC / hz;
}

static int write_system_time(struct vcpu *vcpu, u64 gpa)
{
	struct pvclock_vcpu_time_info t;
	u64 now = rdtsc();
	u32 mul;
	s8 shift;

	memset(&t, 0, sizeof(t));
	t.version = 2; /* even: a consistent record */
	t.tsc_timestamp = now;
	t.system_time = tsc_to_ns(now - vcpu->vm->boot_tsc, boot_info->tsc_hz);
	pvclock_scale(boot_info->tsc_hz, &mul, &shift);
	t.tsc_to_system_mul = mul;
	t.tsc_shift = shift;
	t.flags = PVCLOCK_TSC_STABLE_BIT;
	return gpa_write(vcpu->vm, gpa, &t, sizeof(t));
}

static int write_wall_clock(struct vcpu *vcpu, u64 gpa)
{
	struct pvclock_wall_clock w;
	u64 hz = boot_info->tsc_hz, ns = 0;

	/* Wall time at the guest's kvmclock zero, from the loader's clock. */
	if (boot_info->wall_sec && vcpu->vm->boot_tsc > boot_info->wall_tsc)
		ns = tsc_to_ns(vcpu->vm->boot_tsc - boot_info->wall_tsc, hz);
	w.version = 2;
	w.sec = (u32)(boot_info->wall_sec + ns / NSEC);
	w.nsec = (u32)(ns % NSEC);
	return gpa_write(vcpu->vm, gpa, &w, sizeof(w));
}

bool kvmclock_msr(struct vcpu *vcpu, u32 msr, bool write, u64 *val)
{
	u64 gpa = *val & ~1ULL;

	if (vcpu->vm->role != VM_ROLE_GUEST || !boot_info->tsc_hz ||
	    (msr != MSR_KVM_WALL_CLOCK_NEW && msr != MSR_KVM_SYSTEM_TIME_NEW))
		return false;
	if (!write) {
		*val = msr == MSR_KVM_SYSTEM_TIME_NEW ? vcpu->pvclock_gpa : 0;
		return true;
	}
	if (msr == MSR_KVM_WALL_CLOCK_NEW) {
		if (write_wall_clock(vcpu, *val))
			vm_refuse(vcpu->vm, REFUSE_MEM,
				  "kvmclock wall clock at GPA 0x%lx", *val);
		return true;
	}
	vcpu->pvclock_gpa = *val;
	if ((*val & 1) && write_system_time(vcpu, gpa)) {
		vm_refuse(vcpu->vm, REFUSE_MEM,
			  "kvmclock time page at GPA 0x%lx", gpa);
		vcpu->pvclock_gpa = 0;
	}
	return true;
}
