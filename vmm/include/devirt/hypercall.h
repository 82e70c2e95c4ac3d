/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devirt hypercall ABI, version 0.4 (DEVIRT_ABI_MAJOR.DEVIRT_ABI_MINOR below).
 * Included by the hypervisor and by Linux modules, so it uses no project
 * typedefs. See docs/hypercall-abi.md.
 *
 * Calling convention: VMCALL (Intel) or VMMCALL (AMD) from CPL 0 with
 *   rax = call number, rdi/rsi/rdx = arguments;
 * the result comes back in rax: >= 0 on success, a negative DEVIRT_E* code
 * on failure. Other registers are preserved.
 */
#ifndef DEVIRT_HYPERCALL_H
#define DEVIRT_HYPERCALL_H

#define DEVIRT_ABI_MAJOR 0
#define DEVIRT_ABI_MINOR 4

/* CPUID leaf 0x40000000: ebx,ecx,edx spell this. */
#define DEVIRT_CPUID_SIGNATURE "DevirtDevirt"
#define DEVIRT_CPUID_LEAF 0x40000000u

#define DEVIRT_HC_VERSION 0 /* -> (major << 16) | minor */
#define DEVIRT_HC_CONSOLE_WRITE 1 /* rdi = buf GVA, rsi = len */
#define DEVIRT_HC_HV_INFO 2 /* rdi = struct devirt_hv_info GVA, rsi = size */
/* ABI 0.3, 0.4: device-file forwarding (devfile/hypercalls.c, docs/devfile.md). */
/*
 * driver: rdi = ring GPA (0 detaches), rsi = size, rdx = window region
 * base: 1 GiB aligned, free driver-physical space (no RAM) below
 * 2^min(phys bits, 46), which the shim reserved in its resource tree.
 */
#define DEVIRT_HC_DEVFILE_ATTACH 3
#define DEVIRT_HC_DEVFILE_CALL 4 /* guest: rdi = req GVA, rsi = resp GVA */
#define DEVIRT_HC_DEVFILE_FETCH 5 /* guest: rdi = slot, rsi = resp GVA */
#define DEVIRT_HC_DEVFILE_REGISTER 6 /* guest: rdi = completion vector */
#define DEVIRT_HC_DEVFILE_MAP 7 /* driver: slot|idx<<8, va|write, pages */
#define DEVIRT_HC_DEVFILE_COMPLETE 8 /* driver: rdi = slot */
#define DEVIRT_HC_DEVFILE_GMAP 9 /* driver: slot, frame|memtype, writable */
#define DEVIRT_HC_DEVFILE_GUNMAP 10 /* guest: rdi = GPA, rsi = pages */
#define DEVIRT_HC_DEVFILE_INFO 11 /* any: rdi = devirt_devfile_info GVA */
#define DEVIRT_HC_DEVFILE_NOTE 12 /* driver: vm, type|events<<32, handle */
#define DEVIRT_HC_DEVFILE_NOTES 13 /* guest: rdi = note array, rsi = max */
#define DEVIRT_HC_DEVFILE_FAULTIN 14 /* driver: slot, va|write */
#define DEVIRT_HC_DEVFILE_RESUME 15 /* guest: rdi = slot */
#define DEVIRT_HC_DEVFILE_CANCEL 16 /* guest: rdi = slot */
#define DEVIRT_HC_DEVFILE_GREVOKE 17 /* driver: vm id, GPA, pages */
#define DEVIRT_HC_MAX 18
/* FETCH: the request waits for a page: resp.v[0] = address | 1 write. */
#define DEVIRT_FETCH_FAULTIN 1

#define DEVIRT_CONSOLE_MAX 1024 /* bytes per console write */

#define DEVIRT_EOK 0
#define DEVIRT_ENOSYS (-38) /* unknown call number */
#define DEVIRT_EFAULT (-14) /* guest pointer not mapped or not the caller's */
#define DEVIRT_EINVAL (-22) /* bad length or argument */
#define DEVIRT_EPERM (-1) /* caller not allowed (CPL != 0, wrong VM) */
#define DEVIRT_EAGAIN (-11) /* not ready yet */
#define DEVIRT_ENOMEM (-12)
#define DEVIRT_EBUSY (-16)

#define DEVIRT_MAX_VMS 4
#define DEVIRT_VM_NOT_STARTED 0
#define DEVIRT_VM_RUNNING 1
#define DEVIRT_VM_STOPPED 2

struct devirt_hv_info {
	unsigned long long abi; /* (major << 16) | minor */
	unsigned long long backend; /* 1 VMX/EPT, 2 SVM/NPT */
	unsigned long long hyp_base; /* hypervisor physical range */
	unsigned long long hyp_size;
	unsigned long long vm_id;
	unsigned long long refused; /* this VM's refused accesses, all kinds */
	unsigned long long hyp_checksum; /* of the vmm's code+rodata, now */
	unsigned long long hyp_checksum_boot; /* the same, at boot */
	/* ABI 0.2: a caller passing the 0.1 size gets the fields above. */
	unsigned long long refused_io; /* this VM's refused port accesses */
	unsigned long long refused_msr; /* its refused MSR writes */
	unsigned long long refused_ipi; /* its refused IPIs, INITs, SIPIs */
	unsigned long long tsc_khz; /* TSC rate given to guests (kvmclock) */
	unsigned long long nr_vms; /* entries used in vm[] */
	struct devirt_vm_desc {
		char name[16]; /* NUL-terminated */
		unsigned long long role; /* 1 driver VM, 2 user guest */
		unsigned long long state; /* DEVIRT_VM_* */
		/* Host-physical span of its RAM: [ram_lo, ram_hi). */
		unsigned long long ram_lo;
		unsigned long long ram_hi;
		unsigned long long ram_bytes;
		unsigned long long apic_id; /* of its first CPU */
	} vm[DEVIRT_MAX_VMS];
	/*
	 * Added later (a caller passing the size without them gets the
	 * rest): the hypervisor's page allocator, 4 KiB pages in use and
	 * in all. Long runs (make soak) compare them before and after.
	 */
	unsigned long long heap_used_pages;
	unsigned long long heap_total_pages;
	/*
	 * Added later; a caller passing the size without them gets the rest.
	 * A page of devirt's own data that holds a fixed pattern from boot
	 * on: its host-physical address, and how many of its 64-bit words
	 * no longer hold the pattern (counted by this call).
	 */
	unsigned long long hyp_canary;
	unsigned long long hyp_canary_bad;
};

#define DEVIRT_HV_INFO_SIZE_V01 64

/* DEVIRT_HC_DEVFILE_INFO: the calling VM's forwarding counters. */
struct devirt_devfile_info {
	unsigned long long attached; /* a shim is attached */
	unsigned long long calls; /* requests this VM made */
	unsigned long long async; /* of which went asynchronous */
	unsigned long long inflight; /* requests not yet collected */
	unsigned long long window_pages; /* its pages in driver windows now */
	unsigned long long guest_pages; /* driver frames in its tables now */
	unsigned long long exits; /* VM exits of the calling vCPU so far */
	/* Added later; a caller passing the size without it gets the rest. */
	unsigned long long polled; /* requests sent without an interrupt */
	/*
	 * Requests that completed within CALL (synchronously), and the sums
	 * of their time in CALL and of the driver VM's part of it (from the
	 * request's arrival in the ring to COMPLETE), in nanoseconds.
	 */
	unsigned long long timed, call_ns, driver_ns;
	/*
	 * Driver frames the driver VM took back from this guest (GREVOKE),
	 * and exits that waited for the guest to drop such a page.
	 */
	unsigned long long revoked, stalls;
};

#endif
